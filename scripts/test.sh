#!/usr/bin/env bash
# The whole suite, `npm test`: installs what it needs (scripts/bootstrap.sh --guest), then runs
# the jest tiers in band (unit, fast, integration: jest.config.js) and, beside them, the
# cgroup v2 guest tier (test/guest/: one QEMU guest under TCG, jest.guest.config.js). The guest
# keeps one core busy for its few minutes while the in-band run mostly waits on processes,
# servers and the kernel, so side by side they take about as long as the in-band run alone;
# one after the other they would add the guest's minutes (docs/cgroup-v2-guest.md).
#
# Arguments go to the in-band run (`npm test -- test/e2e/docker-cli.test.ts`), and the guest
# tier is then left out; `npm run test:guest` runs it alone. The last line sums both runs:
# "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --guest || exit $?

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
. scripts/watchdog.sh
# jest in its own process group, which the watchdog can end with every child. One process runs
# every file and keeps some of each: its heap reached 2 GB by the end of a run here (the
# summary prints it), half of Node's default limit on this host; past about three quarters of
# the limit garbage collection would take most of its time, so it gets room to spare.
jest() {
  setsid node --max-old-space-size=8192 node_modules/.bin/jest "$@"
}

main= guest= guest_dog= main_dog=
# jest runs in process groups of its own: an interrupted `npm test` ends them too.
trap 'kill -TERM -- ${main:+-$main} ${guest:+-$guest} 2>/dev/null; exit 130' INT TERM
if [ $# -eq 0 ]; then
  WARDEN_TEST_TOTALS="$out/guest.json" WARDEN_TEST_PROGRESS="$out/guest.progress" \
    jest -c jest.guest.config.js --runInBand >"$out/guest.log" 2>&1 &
  guest=$!
  # One file that boots QEMU: its own guard kills the guest at 15 minutes.
  watchdog guest "$guest" "$out/guest.progress" 1500 1500 >"$out/guest.watchdog" &
  guest_dog=$!
fi
WARDEN_TEST_TOTALS="$out/main.json" WARDEN_TEST_PROGRESS="$out/main.progress" jest --runInBand "$@" &
main=$!
# The in-band run takes about 15 minutes here, its slowest file under a minute.
watchdog in-band "$main" "$out/main.progress" 2700 600 &
main_dog=$!
wait "$main"
main_rc=$?
guest_rc=0
if [ -n "$guest" ]; then
  wait "$guest"
  guest_rc=$?
  printf '\n── the cgroup v2 guest tier (test/guest/), run beside the tiers above ──\n'
  cat "$out/guest.log" "$out/guest.watchdog"
fi
kill $main_dog $guest_dog 2>/dev/null
wait
node -e '
  const fs = require("fs");
  const t = { passed: 0, failed: 0, skipped: 0 };
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { t.failed += 1; console.error(`no totals in ${f}: that run did not finish`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    for (const k of Object.keys(t)) t[k] += r[k];
  }
  console.log(`\ntests: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
' "$out/main.json" ${guest:+"$out/guest.json"}
[ "$main_rc" -eq 0 ] && [ "$guest_rc" -eq 0 ]
