/**
 * bench/decision-rollups — what the per-hour decision rollups cost the audit commit path.
 * `bash bench/run.sh decision-rollups`
 *
 * The rollups (migration CreateDecisionRollups) are kept by a statement trigger on
 * audit_events, inside the transaction that appends the rows. Anchor: the same append with the
 * trigger disabled. It starts its own embedded PostgreSQL, migrates, and appends batches of
 * policy decisions through AuditEventRepository.append (the audit worker's commit: chain lock,
 * head read, hashing, insert) — every event a decision, the trigger's worst case: fifty
 * principals, nine images, one in seven denied with a reason and a launch request naming the
 * team. A/B interleaved, batch by batch; median and p95 per batch size, and /proc/loadavg.
 * Claim: the trigger adds at most 30% to the median append of a worker-sized batch.
 * BENCH_ROLLUPS_ROUNDS (60 batches per arm and size).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditEventRepository, type AuditEvent } from '../src/audit';
import { createDataSource, migrate } from '../src/platform/database';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';
import { summary } from './lib/bench-warden';

const ROUNDS = Number(process.env.BENCH_ROLLUPS_ROUNDS ?? 60);
const SIZES = [1, 64, 500]; // one event; one job's worth; the worker's batch bound
const MAX_RATIO = 1.3;
const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

let g = 0;
function decisions(n: number): { events: AuditEvent[]; requests: Array<[string, string, string]> } {
  const events: AuditEvent[] = [];
  const requests: Array<[string, string, string]> = [];
  for (let i = 0; i < n; i++) {
    g += 1;
    const denied = g % 7 === 0;
    const id = randomUUID();
    requests.push([id, `user-${g % 50}`, `team-${g % 9}`]);
    events.push({
      id: randomUUID(),
      type: 'policy.decision',
      occurredAt: new Date().toISOString(),
      principal: `user-${g % 50}`,
      source: { via: 'http' },
      subject: id,
      decision: denied ? 'denied' : 'allowed',
      payload: {
        action: 'launch',
        launchRequestId: id,
        image: `corp.io/team-${g % 9}/app:1`,
        decision: {
          allowed: !denied,
          reasons: denied ? [{ rule: 'resources.memory.max', message: 'memory 9g exceeds cap 2g' }] : [],
        },
      },
    });
  }
  return { events, requests };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-rollups-'));
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), quiet);
  const ds = createDataSource(pg.url);
  let failed = false;
  try {
    await migrate(pg.url, 'up');
    await ds.initialize();
    const repo = new AuditEventRepository(ds);
    const trigger = (on: boolean) =>
      ds.query(`ALTER TABLE audit_events ${on ? 'ENABLE' : 'DISABLE'} TRIGGER audit_events_roll_up`);
    const append = async (n: number): Promise<number> => {
      const { events, requests } = decisions(n);
      await ds.query(
        `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, created_at)
         SELECT id, principal, ARRAY[team], '{}', '{}', '{}', now()
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, principal, team)`,
        [requests.map((r) => r[0]), requests.map((r) => r[1]), requests.map((r) => r[2])],
      );
      const t = performance.now();
      await repo.append(events);
      return performance.now() - t;
    };
    // Warm-up: plans cached, a trail that is not empty.
    for (const on of [true, false]) {
      await trigger(on);
      for (const n of SIZES) for (let i = 0; i < 5; i++) await append(n);
    }
    const ms: Record<string, number[]> = {};
    for (let r = 0; r < ROUNDS; r++)
      for (const on of r % 2 ? [true, false] : [false, true]) {
        await trigger(on);
        for (const n of SIZES) (ms[`${n} ${on}`] ??= []).push(await append(n));
      }
    await trigger(true);
    console.log(
      `\n${'events per append'.padEnd(18)} ${'without ms'.padStart(11)} ${'with ms'.padStart(9)} ${'p95 without'.padStart(12)} ${'p95 with'.padStart(9)} ${'ratio'.padStart(6)}  (${ROUNDS} appends each, A/B interleaved; target ratio ≤ ${MAX_RATIO} at 500)`,
    );
    for (const n of SIZES) {
      const off = summary(ms[`${n} false`]);
      const on = summary(ms[`${n} true`]);
      const ratio = on.median / off.median;
      if (n === 500 && ratio > MAX_RATIO) failed = true;
      console.log(
        `${String(n).padEnd(18)} ${off.median.toFixed(2).padStart(11)} ${on.median.toFixed(2).padStart(9)} ${off.p95.toFixed(2).padStart(12)} ${on.p95.toFixed(2).padStart(9)} ${ratio.toFixed(2).padStart(6)}`,
      );
    }
    const [{ rows }] = await ds.query('SELECT count(*)::int AS rows FROM audit_events');
    console.log(`${rows} audit rows at the end; loadavg ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
