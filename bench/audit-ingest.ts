/**
 * Claim (issue 3, issue 13 point 7): audit ingest end to end (API enqueue → row committed with
 * seq, prev_hash and hash) sustains ≥ 30% of the raw PostgreSQL insert rate, on the same
 * server, for the same row shape, with events travelling many per BullMQ job.
 *
 *   bash bench/run.sh audit-ingest            (N=50000, 3 rounds; AUDIT_BENCH_N, AUDIT_BENCH_ROUNDS)
 *
 * It starts its own embedded PostgreSQL and redis-server under a temp dir. The API side is
 * Warden in the `serve` role in this process (`AuditService.enqueue`, as every request path
 * records through it, 256 callers in flight, each awaiting its own event); the worker is
 * `warden worker` in a forked child process, as deployed, so enqueueing and committing do not
 * share one event loop.
 *
 * The host is shared, so the measured runs are interleaved, round after round: raw, Warden
 * (grouped jobs, the design), and — informational, never PASS/FAIL — one BullMQ job per event
 * (`queue.add` per event, what `AuditService.enqueue` did before grouped jobs) through the same
 * worker. The verdict is on the medians; every round prints its own numbers and /proc/loadavg.
 *
 * Raw: batched multi-row INSERTs (unnest, the batch size the worker uses) of pre-built rows
 * into a copy of audit_events with the same columns and indexes, from one connection — the
 * chain has one writer at a time, so one connection is the honest comparison. No hashing,
 * no queue, no lock. One pass of N rows per round (not the best of several).
 *
 * Each run also reports CPU µs per event per process from /proc, which is what decides on a
 * 2-core host, and Redis's per-command cost.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { AuditEvent, AuditEventRepository, AuditJobName, AuditService } from '../src/audit';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';
import { ioredisOptions, QueueName, startEmbeddedRedis } from '../src/platform/queue';

const N = Number(process.env.AUDIT_BENCH_N ?? 50_000);
/** `warden worker` processes (each one forked child, as deployed): 2 shows what a second one buys. */
const WORKERS = Number(process.env.AUDIT_BENCH_WORKERS ?? 1);
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 3);
/** `0` leaves out the informational one-job-per-event runs. */
const SINGLE = process.env.AUDIT_BENCH_SINGLE !== '0';
/** Extra node flags for the worker children, e.g. `--max-semi-space-size=32`. */
const WORKER_NODE_ARGS = (process.env.AUDIT_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const TARGET_RATIO = 0.3;
/** Enqueues in flight at once: many concurrent API requests, each awaiting its enqueue. */
const IN_FLIGHT = 256;

const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

function wardenEnv(dir: string, databaseUrl: string, redisUrl: string): Record<string, string> {
  return {
    WARDEN_DATA_DIR: path.join(dir, 'warden'),
    WARDEN_PORT: '0',
    WARDEN_ADMIN_TOKEN: 'bench-admin-token-0123456789',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    WARDEN_LOG_LEVEL: 'error',
    // Passed through so a run can try other batch settings without editing code.
    ...(process.env.WARDEN_AUDIT_BATCH_SIZE
      ? { WARDEN_AUDIT_BATCH_SIZE: process.env.WARDEN_AUDIT_BATCH_SIZE }
      : {}),
    ...(process.env.WARDEN_AUDIT_FLUSH_MS
      ? { WARDEN_AUDIT_FLUSH_MS: process.env.WARDEN_AUDIT_FLUSH_MS }
      : {}),
  };
}

/** A realistic event: a policy decision with a spec-sized payload. */
function event(i: number): AuditEvent {
  return {
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    type: 'policy.decision',
    principal: `deployer-${i % 17}`,
    source: { via: 'http', ip: '10.0.0.7', tokenId: 'tok_0123456789' } as AuditEvent['source'],
    subject: `corp.io/payments/api@sha256:${'ab'.repeat(32)}`,
    decision: i % 10 === 0 ? 'denied' : 'allowed',
    policyHash: 'cd'.repeat(32),
    payload: {
      spec: {
        image: 'corp.io/payments/api',
        memory: 536870912,
        nanoCpus: 1e9,
        pids: 1024,
        labels: { owner: 'pay', 'cost-centre': 'c42' },
      },
      reasons: i % 10 === 0 ? [{ rule: 'resources.memory.max', message: 'memory 9g exceeds cap 2g' }] : [],
    },
  };
}

/**
 * Rows committed so far. seq is gap-free (the chain), so its maximum is the count, read off
 * the index; one kept connection, so polling costs the measured servers next to nothing.
 */
let poller: Client | undefined;
async function countRows(url: string): Promise<number> {
  if (!poller) {
    poller = new Client({ connectionString: url });
    await poller.connect();
  }
  const { rows } = await poller.query('SELECT coalesce(max(seq), 0)::int AS n FROM audit_events');
  return rows[0].n as number;
}

/**
 * CPU time (ms) used so far by a process, plus its reaped children (Linux /proc). For the
 * postmaster the children are its backends: live ones are added by {@link pgCpuMs}.
 */
function procCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / TICKS_PER_SEC;
  } catch {
    return 0; // gone meanwhile
  }
}
const TICKS_PER_SEC = 100; // USER_HZ on Linux

function pgCpuMs(postmaster: number): number {
  let ms = procCpuMs(postmaster);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster)
        ms += procCpuMs(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return ms;
}

/** Busy CPU time of the whole host (ms), from /proc/stat: ours and anyone else's. */
function hostCpuMs(): { busy: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: ((total - f[3] - f[4]) * 1000) / TICKS_PER_SEC };
}

type CpuRoles = Record<'api' | 'worker' | 'redis' | 'postgres' | 'host busy', number>;
function cpuSnapshot(pids: { workers: number[]; redis: number; postgres: number }): CpuRoles {
  const host = hostCpuMs();
  return {
    api: procCpuMs(process.pid),
    worker: pids.workers.reduce((ms, pid) => ms + procCpuMs(pid), 0),
    redis: procCpuMs(pids.redis),
    postgres: pgCpuMs(pids.postgres),
    'host busy': host.busy,
  };
}

/** Redis commands' calls and CPU µs (INFO commandstats) since the last CONFIG RESETSTAT. */
function commandStats(info: string): Array<{ cmd: string; calls: number; usec: number }> {
  return [...info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)]
    .map((m) => ({ cmd: m[1], calls: Number(m[2]), usec: Number(m[3]) }))
    .sort((a, b) => b.usec - a.usec);
}

/**
 * Transactions that committed rows seq (from, to]: recorded_at defaults to now(), the
 * transaction's start, so each commit leaves one distinct value.
 */
async function commitsBetween(from: number, to: number): Promise<number> {
  const { rows } = await poller!.query(
    'SELECT count(DISTINCT recorded_at)::int AS n FROM audit_events WHERE seq > $1 AND seq <= $2',
    [from, to],
  );
  return rows[0].n as number;
}

/** Raw rows/s: the same columns and indexes, pre-built values, one connection, no chain. */
interface RawRun {
  rate: number;
  nodeUs: number;
  pgUs: number;
}

/** Builds the raw table and rows once; each call of the result is one timed pass of N rows. */
async function prepareRaw(
  url: string,
  batch: number,
  postmaster: number,
): Promise<{ run: () => Promise<RawRun>; close: () => Promise<void> }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query('DROP TABLE IF EXISTS bench_raw');
  await c.query(
    'CREATE TABLE bench_raw (LIKE audit_events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)',
  );
  const events = Array.from({ length: N }, (_, i) => event(i));
  const hash = randomBytes(32).toString('hex');
  const batches: unknown[][][] = [];
  for (let at = 0; at < N; at += batch) {
    const cols: unknown[][] = Array.from({ length: 12 }, () => []);
    events.slice(at, at + batch).forEach((e, k) => {
      const row = [
        at + k + 1,
        e.id,
        e.type,
        e.occurredAt,
        e.principal,
        JSON.stringify(e.source),
        e.subject,
        e.decision,
        e.policyHash,
        JSON.stringify(e.payload),
        hash,
        hash,
      ];
      row.forEach((v, j) => cols[j].push(v));
    });
    batches.push(cols);
  }
  const run = async (): Promise<RawRun> => {
    await c.query('TRUNCATE bench_raw');
    const node0 = procCpuMs(process.pid);
    const pg0 = pgCpuMs(postmaster);
    const t0 = process.hrtime.bigint();
    for (const cols of batches) {
      await c.query(
        `INSERT INTO bench_raw
           (seq, id, type, occurred_at, principal, source, subject, decision, policy_hash, payload, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[],
                              $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::text[])`,
        cols,
      );
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const perRow = (ms: number) => (ms * 1000) / N;
    return {
      rate: N / secs,
      nodeUs: perRow(procCpuMs(process.pid) - node0),
      pgUs: perRow(pgCpuMs(postmaster) - pg0),
    };
  };
  const close = async () => {
    await c.query('DROP TABLE bench_raw');
    await c.end();
  };
  return { run, close };
}

/** The forked worker: Warden's worker role, as `warden worker` runs it. */
async function workerChild(): Promise<void> {
  const env = JSON.parse(process.env.AUDIT_BENCH_WARDEN_ENV!) as Record<string, string>;
  const w = await startWarden('worker', loadConfig(env), pino({ level: 'error' }));
  process.send!('ready');
  process.on('message', (m) => {
    if (m === 'stop') void w.stop().then(() => process.exit(0));
  });
}

interface Run {
  e2eSecs: number;
  /** CPU µs per event, per process. */
  cpu: Record<keyof CpuRoles, number>;
  /** Transactions the worker committed the events in. */
  commits: number;
  redis: Array<{ cmd: string; calls: number; usec: number }>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), quiet);
  const redis = await startEmbeddedRedis(path.join(dir, 'r'), quiet);
  const redisUrl = redis.endpoint.path
    ? `unix://${redis.endpoint.path}`
    : `redis://:${redis.endpoint.password}@127.0.0.1:${redis.endpoint.port}`;
  const env = wardenEnv(dir, pg.url, redisUrl);
  const config = loadConfig(env);
  const children: Array<ReturnType<typeof fork>> = [];
  try {
    const api = await startWarden('serve', config, pino({ level: 'error' }));
    const audit = api.app.get(AuditService);
    const auditQueue = api.app.get<Queue>(getQueueToken(QueueName.Audit));
    const raw = await prepareRaw(pg.url, config.audit.batchSize, pg.pid);

    for (let i = 0; i < WORKERS; i++) {
      const child = fork(__filename, ['--worker'], {
        env: { ...process.env, AUDIT_BENCH_WARDEN_ENV: JSON.stringify(env) },
        execArgv: [...process.execArgv, ...WORKER_NODE_ARGS],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`bench worker exited ${code}`)));
      });
    }

    // Warm-up: JIT, pools, prepared paths, both job shapes; then every run starts drained.
    const base0 = await countRows(pg.url);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => audit.enqueue(event(i))));
    for (let i = 0; i < 1000; i++) {
      const e = event(i);
      await auditQueue.add(AuditJobName.Event, e, { jobId: e.id });
    }
    while ((await countRows(pg.url)) < base0 + 3000) await new Promise((r) => setTimeout(r, 25));
    await raw.run();

    const stats = new IORedis(ioredisOptions(api.infra.redis));
    const pids = { workers: children.map((c) => c.pid!), redis: redis.pid, postgres: pg.pid };
    /** N events through `enqueue`, IN_FLIGHT callers at a time, until the last row is committed. */
    const run = async (enqueue: (e: AuditEvent) => Promise<void>): Promise<Run> => {
      const events = Array.from({ length: N }, (_, i) => event(i));
      const base = await countRows(pg.url);
      await stats.config('RESETSTAT');
      const cpu0 = cpuSnapshot(pids);
      const t0 = process.hrtime.bigint();
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < events.length) await enqueue(events[next++]);
        }),
      );
      while ((await countRows(pg.url)) < base + N) await new Promise((r) => setTimeout(r, 25));
      const e2eSecs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu1 = cpuSnapshot(pids);
      const redisCmds = commandStats(await stats.info('commandstats'));
      const commits = await commitsBetween(base, base + N);
      const cpu = Object.fromEntries(
        (Object.keys(cpu0) as Array<keyof CpuRoles>).map((k) => [k, ((cpu1[k] - cpu0[k]) * 1000) / N]),
      ) as Run['cpu'];
      return { e2eSecs, cpu, commits, redis: redisCmds };
    };

    // Interleaved: raw, grouped (the design), one job per event (informational), round after round.
    const rounds: Array<{ load: string; raw: RawRun; grouped: Run; single?: Run }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const load = loadavg();
      const rawRun = await raw.run();
      const grouped = await run((e) => audit.enqueue(e));
      const single = SINGLE
        ? await run(async (e) => void (await auditQueue.add(AuditJobName.Event, e, { jobId: e.id })))
        : undefined;
      rounds.push({ load, raw: rawRun, grouped, single });
      console.error(`round ${r + 1}/${ROUNDS} done (load ${load})`);
    }
    await stats.quit();
    await raw.close();

    const verify = await api.app.get(AuditEventRepository).verify();
    const rateOf = (x: Run) => N / x.e2eSecs;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
    const pct = (r: number) => `${(r * 100).toFixed(1)}%`.padStart(6);
    const none = '         — |      —';
    console.log(
      `audit ingest, ${N} events per run, ${ROUNDS} interleaved rounds, batch ${config.audit.batchSize}, ` +
        `flush ${config.audit.flushMs} ms, ${IN_FLIGHT} callers in flight, ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}` +
        `${WORKER_NODE_ARGS.length ? ` (${WORKER_NODE_ARGS.join(' ')})` : ''}, ${os.cpus().length} CPUs`,
    );
    console.log('');
    console.log(
      '| round  | /proc/loadavg before | raw insert/s | Warden ingest/s |  ratio | 1 job per event/s |  ratio |',
    );
    console.log(
      '|--------|----------------------|-------------:|----------------:|-------:|------------------:|-------:|',
    );
    for (const [i, r] of rounds.entries())
      console.log(
        `| ${String(i + 1).padEnd(6)} | ${r.load.padEnd(20)} |   ${fmt(r.raw.rate)} |      ${fmt(rateOf(r.grouped))} | ${pct(rateOf(r.grouped) / r.raw.rate)} | ` +
          `${r.single ? `       ${fmt(rateOf(r.single))} | ${pct(rateOf(r.single) / r.raw.rate)}` : none} |`,
      );
    const medRaw = median(rounds.map((r) => r.raw.rate));
    const medGrouped = median(rounds.map((r) => rateOf(r.grouped)));
    const singles = rounds.flatMap((r) => (r.single ? [r.single] : []));
    const medSingle = singles.length ? median(singles.map(rateOf)) : NaN;
    console.log(
      `| median | after: ${loadavg().padEnd(13)} |   ${fmt(medRaw)} |      ${fmt(medGrouped)} | ${pct(medGrouped / medRaw)} | ` +
        `${singles.length ? `       ${fmt(medSingle)} | ${pct(medSingle / medRaw)}` : none} |`,
    );
    const ratio = medGrouped / medRaw;
    const medRoundRatio = median(rounds.map((r) => rateOf(r.grouped) / r.raw.rate));
    console.log('');

    // Where each run's CPU went, per event (medians over the rounds), next to the two cores'
    // capacity (2 s of CPU per second).
    const cols: Array<{ label: string; runs: Run[] }> = [
      { label: 'grouped', runs: rounds.map((r) => r.grouped) },
      ...(singles.length ? [{ label: '1 per job', runs: singles }] : []),
    ];
    const med = (runs: Run[], f: (x: Run) => number) => median(runs.map(f));
    console.log(
      `| CPU µs per event (median) | ${cols.map((c) => c.label.padStart(10)).join(' | ')} | raw insert |`,
    );
    console.log(`|---------------------------|${cols.map(() => '-----------:|').join('')}-----------:|`);
    const row = (name: string, vals: number[], rawVal?: number) =>
      console.log(
        `| ${name.padEnd(25)} | ${vals.map((v) => (Number.isFinite(v) ? v.toFixed(1) : '—').padStart(10)).join(' | ')} | ${(rawVal?.toFixed(1) ?? '—').padStart(10)} |`,
      );
    const rawNode = median(rounds.map((r) => r.raw.nodeUs));
    const rawPg = median(rounds.map((r) => r.raw.pgUs));
    for (const k of ['api', 'worker', 'redis', 'postgres'] as const)
      row(
        k === 'api' ? 'API (bench process)' : k,
        cols.map((c) => med(c.runs, (x) => x.cpu[k])),
        k === 'api' ? rawNode : k === 'postgres' ? rawPg : undefined,
      );
    const sum = (x: Run) => x.cpu.api + x.cpu.worker + x.cpu.redis + x.cpu.postgres;
    row(
      'all four',
      cols.map((c) => med(c.runs, sum)),
      rawNode + rawPg,
    );
    row(
      'host busy (+ others)',
      cols.map((c) => med(c.runs, (x) => x.cpu['host busy'])),
    );
    row(
      `capacity (${os.cpus().length} cores)`,
      cols.map((c) => med(c.runs, (x) => (os.cpus().length * x.e2eSecs * 1e6) / N)),
      (os.cpus().length * 1e6) / medRaw,
    );
    row(
      'events per commit',
      cols.map((c) => med(c.runs, (x) => (x.commits ? N / x.commits : NaN))),
      config.audit.batchSize,
    );
    console.log('');
    const last = rounds[rounds.length - 1].grouped;
    console.log('| redis command (grouped, last round) | calls/event | µs/call | µs/event |');
    console.log('|-------------------------------------|------------:|--------:|---------:|');
    for (const c of last.redis.slice(0, 6))
      console.log(
        `| ${c.cmd.padEnd(35)} | ${(c.calls / N).toFixed(3).padStart(11)} | ${(c.usec / Math.max(1, c.calls)).toFixed(1).padStart(7)} | ${(c.usec / N).toFixed(1).padStart(8)} |`,
      );
    console.log('');
    console.log(
      `ratio of medians, Warden ingest / raw: ${(ratio * 100).toFixed(1)}% (median of the rounds' own ratios ` +
        `${(medRoundRatio * 100).toFixed(1)}%; target ≥ ${TARGET_RATIO * 100}%) ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `chain: ${verify.ok ? `all ${verify.rows} rows verify` : `BROKEN at seq ${verify.firstBroken?.seq}`}`,
    );

    await poller?.end();
    for (const child of children.splice(0)) {
      child.send('stop');
      await new Promise((r) => child.once('exit', r));
    }
    await api.stop();
    if (ratio < TARGET_RATIO || !verify.ok) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await redis.stop();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--worker')) {
  workerChild().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
