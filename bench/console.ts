/**
 * bench/console — do the review console's API calls answer within 1 s on a big install?
 * `bash bench/run.sh console`
 *
 * Seeds, with plain SQL (generate_series, one statement per table): CONTAINERS live
 * container rows (a fifth running, each with usage samples), as many removed containers in
 * the trail (created, started, died, removed), and policy decisions up to AUDIT_ROWS audit
 * rows in all over the last 30 days, one in seven denied with a reason and its launch
 * request (the team); the trigger on audit_events rolls the decisions up per hour as they are
 * inserted, as it does for every append. The seeded rows' hashes are placeholders: the chain is not verified
 * here (GET /audit/verify recomputes every hash; the console runs it after the page is up).
 *
 * Then times each call a console page makes with the page's own default query, RUNS times,
 * as an auditor would, and prints median and max against the 1 s target. Exit 1 on a miss.
 * BENCH_CONSOLE_CONTAINERS (10000), BENCH_CONSOLE_AUDIT_ROWS (1000000), BENCH_CONSOLE_RUNS (5).
 * BENCH_CONSOLE_EXPLAIN=<part of a call's name>: afterwards, EXPLAIN ANALYZE of every statement
 * those calls ran, slowest first (how the misses were found).
 */
import * as fs from 'node:fs';
import { DataSource } from 'typeorm';
import { BENCH_TOKEN, startBenchWarden, summary } from './lib/bench-warden';

const CONTAINERS = Number(process.env.BENCH_CONSOLE_CONTAINERS ?? 10_000);
const AUDIT_ROWS = Number(process.env.BENCH_CONSOLE_AUDIT_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 5);
const TARGET_MS = 1000;
const EXPLAIN = process.env.BENCH_CONSOLE_EXPLAIN;

/** Runs `call` with the DataSource's statements recorded, then prints each one's plan, slowest first. */
async function explain(ds: DataSource, call: () => Promise<void>): Promise<void> {
  const seen: Array<[string, unknown[] | undefined]> = [];
  const query = ds.query.bind(ds);
  ds.query = ((sql: string, params?: unknown[]) => {
    seen.push([sql, params]);
    return query(sql, params);
  }) as typeof ds.query;
  try {
    await call();
  } finally {
    ds.query = query;
  }
  const plans: Array<{ ms: number; text: string }> = [];
  for (const [sql, params] of seen) {
    if (!/^\s*(SELECT|WITH)/i.test(sql)) continue;
    const rows: Array<{ 'QUERY PLAN': string }> = await query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    const text = rows.map((r) => r['QUERY PLAN']).join('\n');
    plans.push({ ms: Number(/Execution Time: ([\d.]+)/.exec(text)?.[1] ?? 0), text });
  }
  for (const p of plans.sort((a, b) => b.ms - a.ms)) console.log(`\n--- ${p.ms.toFixed(0)} ms\n${p.text}`);
}

async function seed(ds: DataSource): Promise<void> {
  const removed = CONTAINERS;
  const decisions = AUDIT_ROWS - removed * 4;
  const t = Date.now();
  await ds.query(
    `INSERT INTO containers (id, name, image, spec, state, node, created_by, created_at, started_at, finished_at,
                             exit_code, labels, pid)
     SELECT 'a' || lpad(to_hex(g), 63, '0'), 'web-' || g, 'corp.io/team-' || (g % 9) || '/app:1',
            jsonb_build_object('memoryBytes', 268435456, 'nanoCpus', 1000000000, 'pidsLimit', 256),
            CASE WHEN g % 5 = 0 THEN 'running' ELSE 'exited' END, 'bench', 'user-' || (g % 50),
            now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval,
            CASE WHEN g % 5 = 0 THEN NULL ELSE now() END, CASE WHEN g % 5 = 0 THEN NULL ELSE 0 END,
            jsonb_build_object('team', 'team-' || (g % 9)), CASE WHEN g % 5 = 0 THEN 100000 + g END
       FROM generate_series(1, $1) g`,
    [CONTAINERS],
  );
  await ds.query(
    `INSERT INTO usage_samples (id, container_id, container_name, image, labels, node, pid, sampled_at, cpu_ns,
                                cpu_user_ns, cpu_system_ns, memory_bytes, working_set_bytes, pids, throttled_periods,
                                throttled_ns, oom_kills)
     SELECT gen_random_uuid(), 'a' || lpad(to_hex(g), 63, '0'), 'web-' || g, 'corp.io/team-' || (g % 9) || '/app:1',
            jsonb_build_object('team', 'team-' || (g % 9)), 'bench', 100000 + g, now() - (k || ' minutes')::interval,
            (10 - k) * 1e9, (10 - k) * 1e9, 0, 50000000, 40000000, 3, 0, 0, 0
       FROM generate_series(5, $1, 5) g, generate_series(0, 9) k`,
    [CONTAINERS],
  );
  await ds.query(
    `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, created_at)
     SELECT md5('lr' || g)::uuid, 'user-' || (g % 50), ARRAY['team-' || (g % 9)], '{}', '{}', '{}',
            now() - (g::float8 * 2592 / $1::float8 || ' seconds')::interval * 1000
       FROM generate_series(1, $1) g WHERE g % 7 = 0`,
    [decisions],
  );
  // Decisions first (seq 1..decisions), then the removed containers' four events each.
  await ds.query(
    `INSERT INTO audit_events (seq, id, type, occurred_at, principal, source, subject, decision, policy_hash, payload,
                               prev_hash, hash)
     SELECT g, gen_random_uuid(), 'policy.decision', now() - ((($1 - g)::float8 * 2592 / $1::float8) || ' seconds')::interval * 1000,
            'user-' || (g % 50), '{"via":"http"}', md5('lr' || g)::uuid::text,
            CASE WHEN g % 7 = 0 THEN 'denied' ELSE 'allowed' END, repeat('a', 64),
            jsonb_build_object('action', 'launch', 'image', 'corp.io/team-' || (g % 9) || '/app:1',
              'launchRequestId', CASE WHEN g % 7 = 0 THEN md5('lr' || g)::uuid END,
              'decision', jsonb_build_object('allowed', g % 7 <> 0, 'policy', 'prod',
                'reasons', CASE WHEN g % 7 = 0 THEN jsonb_build_array(jsonb_build_object('rule', 'resources.memory.max',
                  'message', 'memory 9g exceeds cap 2g')) ELSE '[]'::jsonb END)),
            repeat('0', 64), repeat('0', 64)
       FROM generate_series(1, $1) g`,
    [decisions],
  );
  await ds.query(
    `INSERT INTO audit_events (seq, id, type, occurred_at, principal, source, subject, payload, prev_hash, hash)
     SELECT $2 + (g - 1) * 4 + k, gen_random_uuid(), (ARRAY['container.created', 'container.started', 'container.died',
              'container.removed'])[k], now() - ((($1 - g)::float8 * 86400 / $1::float8) || ' seconds')::interval + (k || ' seconds')::interval,
            'user-' || (g % 50), '{"via":"http"}', 'b' || lpad(to_hex(g), 63, '0'),
            jsonb_build_object('name', 'gone-' || g, 'image', 'corp.io/team-' || (g % 9) || '/app:1', 'exitCode', 0,
              'oomKilled', g % 100 = 0, 'launchRequestId', md5('lr' || (g * 7))::uuid,
              'spec', jsonb_build_object('memoryBytes', 268435456, 'labels', jsonb_build_object('team', 'team-' || (g % 9)))),
            repeat('0', 64), repeat('0', 64)
       FROM generate_series(1, $1) g, generate_series(1, 4) k`,
    [removed, decisions],
  );
  await ds.query('ANALYZE');
  const [{ n, rollups, rules }] = await ds.query(
    `SELECT (SELECT count(*)::int FROM audit_events) AS n, (SELECT count(*)::int FROM decision_rollups) AS rollups,
            (SELECT count(*)::int FROM decision_rule_rollups) AS rules`,
  );
  // The trigger on audit_events rolled the seeded decisions up as they were inserted.
  console.log(
    `seeded ${CONTAINERS} containers, ${removed} removed, ${n} audit rows in ${((Date.now() - t) / 1000).toFixed(0)} s; ` +
      `rollup rows: ${rollups} decision, ${rules} rule`,
  );
}

async function main(): Promise<void> {
  const bw = await startBenchWarden({ WARDEN_CGROUP_PARENT: `warden-bench-console-${process.pid}` }, 'serve');
  let failed = false;
  try {
    await seed(bw.warden.app.get(DataSource));
    const day = (n: number) => new Date(Date.now() - n * 864e5).toISOString();
    const calls: Array<[string, string]> = [
      ['overview (24 h)', `/console/overview?from=${day(1)}&to=${day(0)}`],
      ['overview (30 days)', `/console/overview?from=${day(30)}&to=${day(0)}`],
      ['containers (500 newest)', '/console/containers?limit=500'],
      ['containers, removed', '/console/containers?state=removed&limit=500'],
      ['containers, search', '/console/containers?q=web-4242'],
      ['decisions (500 newest)', '/audit/events?type=policy.decision&order=desc&limit=500'],
      ['decisions, denied', '/audit/events?type=policy.decision&order=desc&limit=500&decision=denied'],
      ['chain rows (100 newest)', '/audit/events?order=desc&limit=100'],
      ['one audit row', `/audit/events/${Math.floor(AUDIT_ROWS / 2)}`],
      ['usage per team (7 days)', `/console/usage?from=${day(7)}&to=${day(0)}&by=team`],
      ['usage rollups (7 days)', `/usage?from=${day(7)}`],
      ['story of a removed container', `/reports/stories/b${(42).toString(16).padStart(63, '0')}`],
      ['policies', '/policies'],
      ['exceptions', '/exceptions'],
      [`metrics (${CONTAINERS / 5} running)`, '/metrics'],
    ];
    const rows: string[] = [];
    for (const [name, path] of calls) {
      const ms: number[] = [];
      let status = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        // The whole body read, as the page reads it (/metrics is text, the rest JSON).
        const res = await fetch(`${bw.url}${path}`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
        await res.text();
        status = res.status;
        ms.push(performance.now() - t);
      }
      const s = summary(ms);
      const max = Math.max(...ms);
      // The story endpoint answers 404 for a container without a launch decision: timed all the same.
      const ok = max <= TARGET_MS && (status < 300 || status === 404);
      if (!ok) failed = true;
      rows.push(
        `${name.padEnd(30)} ${String(status).padStart(4)} ${s.median.toFixed(0).padStart(8)} ${max.toFixed(0).padStart(8)}  ${ok ? 'ok' : 'MISS'}`,
      );
    }
    console.log(`\n${'call'.padEnd(30)} code median ms   max ms  (target ${TARGET_MS} ms, ${RUNS} runs)`);
    for (const r of rows) console.log(r);
    console.log(`loadavg ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
    if (EXPLAIN)
      for (const [name, path] of calls.filter(([n]) => n.includes(EXPLAIN))) {
        console.log(`\n=== plans of ${name}`);
        await explain(bw.warden.app.get(DataSource), async () => {
          await (
            await fetch(`${bw.url}${path}`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } })
          ).text();
        });
      }
  } finally {
    await bw.close();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
