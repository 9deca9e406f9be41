#!/usr/bin/env bash
# Builds the init shim (native/shim/*.c) into native/shim/build/warden-shim.
#
# Run during `npm install` and before the privileged tests. Idempotent: does nothing when
# the binary is newer than every source and this script. Links statically when the C
# library allows it (one file, no loader work at each container start, ~1 ms less per
# launch); falls back to a dynamic binary otherwise. CC and CFLAGS may be overridden.
# libseccomp (Debian: libseccomp-dev, which ships libseccomp.a) compiles the containers'
# seccomp filter (native/shim/seccomp.c); it is linked in statically like libc.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/native/shim"
out="$src/build/warden-shim"
cc="${CC:-cc}"
cflags="${CFLAGS:--O2} -std=gnu11 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong"

if [[ "$(uname -s)" != Linux ]]; then
  echo "build-shim: the shim needs Linux; skipping" >&2
  exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-shim: no C compiler ('$cc'); install gcc (Debian: apt-get install gcc libc6-dev)" >&2
  exit 1
fi

if [[ -x "$out" ]] && [[ -z "$(find "$src" "${BASH_SOURCE[0]}" -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name build-shim.sh \) -newer "$out" -print -quit)" ]]; then
  exit 0 # up to date
fi

mkdir -p "$src/build"
tmp="$(mktemp "$src/build/.warden-shim.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

# shellcheck disable=SC2086 # cflags is a flag list
if [[ ! -e /usr/include/seccomp.h ]]; then
  echo "build-shim: seccomp.h missing; install libseccomp-dev (Debian: apt-get install libseccomp-dev)" >&2
  exit 1
fi
if ! "$cc" $cflags -static -o "$tmp" "$src"/*.c -lseccomp 2>/dev/null; then
  "$cc" $cflags -o "$tmp" "$src"/*.c -lseccomp
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$out" # atomic: a concurrent launch never sees a half-written binary
trap - EXIT
echo "build-shim: built $out"
