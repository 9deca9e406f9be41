#!/usr/bin/env bash
# Makes a checkout ready to run (and with --test, to test) on Debian with Node 20: the Debian
# packages Warden and its tests use, npm dependencies, the init shim and the compiled service.
# Idempotent and quick when nothing changed, so `npm run up` and `npm test` call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

# What must be on the machine → the Debian package that brings it.
#   redis-server: the embedded Redis          setpriv, unshare: helper supervision, host probes
#   setfacl: lets the embedded PostgreSQL's    cc + libc.a: build the init shim (static)
#            user reach a private data dir     busybox: the test images' userland
#   libseccomp.a (libseccomp-dev): the shim's seccomp filter compiler, linked statically
#   docker-compose: validates docker-compose.yml in the tests (no engine needed)
#   docker-registry, skopeo: a real upstream registry and a real client for the proxy tests
#   mmdebstrap: builds the Debian + Python test image from the apt sources (test/fixtures/images)
#   pdftoppm (poppler-utils): renders report PDFs in the tests; chromium: the console's browser test
#   netavark, aardvark-dns (1.4, under /usr/lib/podman): bridge networks, port forwards and
#            container DNS (WARDEN_NETWORKING=bridge); iptables: netavark's firewall driver;
#            nft: the network tests count rules with it; iperf3: the bandwidth test measures caps
#            with it; tc (iproute2): applies bandwidth caps
#   qemu-system-x86, linux-image-amd64, cpio: the cgroup v2 guest (test/guest/) boots Debian's kernel
declare -A want=(
  [cmd:redis-server]=redis-server
  [cmd:setpriv]=util-linux
  [cmd:unshare]=util-linux
  [cmd:setfacl]=acl
  [cmd:cc]=gcc
  [file:/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
  [file:/usr/lib/x86_64-linux-gnu/libseccomp.a]=libseccomp-dev
  [cmd:/usr/lib/podman/netavark]=netavark
  [cmd:/usr/lib/podman/aardvark-dns]=aardvark-dns
  [cmd:iptables]=iptables
  [cmd:tc]=iproute2
)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--guest" ]; then
  want[cmd:busybox]=busybox-static
  want[cmd:docker-compose]=docker-compose
  want[cmd:docker-registry]=docker-registry
  want[cmd:skopeo]=skopeo
  want[cmd:mmdebstrap]=mmdebstrap
  want[cmd:pdftoppm]=poppler-utils
  want[cmd:chromium]=chromium
  want[cmd:nft]=nftables
  want[cmd:iperf3]=iperf3
  want[cmd:tmux]=tmux
fi
# --guest: the cgroup v2 guest tier too (`npm test` runs it beside the others: scripts/test.sh).
if [ "${1:-}" = "--guest" ]; then
  want[cmd:qemu-system-x86_64]="qemu-system-x86 linux-image-amd64 cpio"
fi

missing=()
for key in "${!want[@]}"; do
  case "$key" in
    cmd:*) command -v "${key#cmd:}" >/dev/null 2>&1 || missing+=("${want[$key]}") ;;
    file:*) [ "$(uname -m)" != x86_64 ] || [ -e "${key#file:}" ] || missing+=("${want[$key]}") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages: $pkgs- install them as root: apt-get install $pkgs" >&2
    exit 1
  fi
  echo "bootstrap: installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# npm ci when node_modules is missing or older than the lockfile (npm ci also builds the shim).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci"
  npm ci --no-audit --no-fund
fi

bash scripts/build-shim.sh

echo "bootstrap: compiling"
npx tsc -p tsconfig.build.json
