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
guest=
if [ $# -eq 0 ]; then
  WARDEN_TEST_TOTALS="$out/guest.json" npx jest -c jest.guest.config.js --runInBand >"$out/guest.log" 2>&1 &
  guest=$!
fi
WARDEN_TEST_TOTALS="$out/main.json" npx jest --runInBand "$@"
main_rc=$?
guest_rc=0
if [ -n "$guest" ]; then
  wait "$guest"
  guest_rc=$?
  printf '\n── the cgroup v2 guest tier (test/guest/), run beside the tiers above ──\n'
  cat "$out/guest.log"
fi
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
