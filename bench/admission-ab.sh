#!/usr/bin/env bash
# A/B for bench/admission: this checkout (B) against another commit (A), interleaved.
#
#   bash bench/admission-ab.sh <commit-A> [pairs]        (default: 3 pairs, A then B, B then A, …)
#
# A is checked out detached under /tmp, built (its `up` role starts its audit worker from its
# own dist/), and given this checkout's bench/ (the same harness measures both sides). Each
# run is one bench/admission round (ADMISSION_BENCH_ROUNDS=1 unless set) on its own embedded
# PostgreSQL and Redis; the pairs alternate their order so a change in the host's load does not
# land on one side. Prints each run's verdict lines and loadavg, then the per-side medians.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
commit="${1:?usage: bench/admission-ab.sh <commit-A> [pairs]}"
pairs="${2:-3}"
a="/tmp/admission-ab-$(git -C "$root" rev-parse --short "$commit")-$$"
git -C "$root" worktree add --detach "$a" "$commit" >/dev/null
# The checkout of A is this script's own: gone (and unregistered) when it ends.
build="/tmp/benchbuild-ab-$$"
trap 'git -C "$root" worktree remove --force "$a"; rm -rf "$build-A" "$build-B"' EXIT
cp -al "$root/node_modules" "$a/node_modules"
(cd "$a" && npm run build >/dev/null)
ln -sfn "$root/native/shim/build" "$a/native/shim/build"
rm -rf "$a/bench" && cp -r "$root/bench" "$a/bench"
export ADMISSION_BENCH_ROUNDS="${ADMISSION_BENCH_ROUNDS:-1}"
out="$(mktemp -d /tmp/admission-ab-out.XXXX)"
run() { # side dir n
  BENCH_BUILD_DIR="$build-$1" bash "$2/bench/run.sh" admission >"$out/$1-$3.txt" 2>&1 || true
  echo "== $1 run $3 (load after: $(cut -d' ' -f1-3 /proc/loadavg))"
  grep -E '^\| (validate|mutate) .*≤' "$out/$1-$3.txt" || tail -5 "$out/$1-$3.txt"
}
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then run A "$a" "$i"; run B "$root" "$i"; else run B "$root" "$i"; run A "$a" "$i"; fi
done
echo
echo "| side | webhook  | runs | median p50 ms | median p99 ms |"
echo "| ---- | -------- | ---- | ------------- | ------------- |"
for side in A B; do
  for w in validate mutate; do
    lines="$(cat "$out/$side"-*.txt | grep -E "^\| $w .*≤" || true)"
    n=$(printf '%s\n' "$lines" | grep -c . || true)
    [ "$n" -gt 0 ] || continue
    mid() { printf '%s\n' "$lines" | awk -F'|' -v c="$1" '{ print $c + 0 }' | sort -n | sed -n "$(((n + 1) / 2))p"; }
    printf '| %s    | %-8s | %4d | %13s | %13s |\n' "$side" "$w" "$n" "$(mid 4)" "$(mid 6)"
  done
done
echo "outputs: $out (A = $commit at $a, B = $root)"
