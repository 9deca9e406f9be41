/**
 * Claim (issue 3): audit ingest end to end (API enqueue → row committed with seq, prev_hash
 * and hash) sustains ≥ 30% of the raw PostgreSQL insert rate measured in the same run, on the
 * same server, for the same row shape.
 *
 *   bash bench/run.sh audit-ingest            (N=50000 by default; AUDIT_BENCH_N to change)
 *
 * It starts its own embedded PostgreSQL and redis-server under a temp dir. The API side is
 * Warden in the `serve` role in this process (AuditService.enqueue, as every request path
 * uses it); the worker is `warden worker` logic in a forked child process, as deployed, so
 * enqueueing and committing do not share one event loop.
 *
 * Raw: batched multi-row INSERTs (unnest, the batch size the worker uses) of pre-built rows
 * into a copy of audit_events with the same columns and indexes, from one connection — the
 * chain has one writer at a time, so one connection is the honest comparison. No hashing,
 * no queue, no lock.
 *
 * Informational rows, never part of PASS/FAIL: "BullMQ alone" (the same jobs and batching
 * with a commit that does nothing: the queue's own floor) and "NOT the design: g events per
 * job" (issue 3 fixes one job per event; these show what grouping would buy). Each run also
 * reports CPU µs per event per process from /proc, which is what decides on a 2-core host.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { getQueueToken } from '@nestjs/bullmq';
import { Job, Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { AuditEvent, AuditEventRepository, AuditService } from '../src/audit';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';
import { AuditJobName } from '../src/audit/audit.jobs';
import { MicroBatcher } from '../src/audit/micro-batcher';
import {
  ioredisOptions,
  QUEUE_PREFIX,
  QueueName,
  startEmbeddedRedis,
  workerOptions,
} from '../src/platform/queue';

const N = Number(process.env.AUDIT_BENCH_N ?? 50_000);
/** `warden worker` processes (each one forked child, as deployed): 2 shows what a second one buys. */
const WORKERS = Number(process.env.AUDIT_BENCH_WORKERS ?? 1);
/**
 * Events per BullMQ job for the informational rows that are NOT the shipped design (issue 3
 * fixes one job per event): what grouping would buy, for the issue's owner to weigh. `0` skips.
 */
const GROUPS = (process.env.AUDIT_BENCH_GROUPS ?? '10,50')
  .split(',')
  .map(Number)
  .filter((g) => g > 1);
/** Extra node flags for the worker children, e.g. `--max-semi-space-size=32`. */
const WORKER_NODE_ARGS = (process.env.AUDIT_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const RAW_ROUNDS = 3;
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
async function rawInsertRate(
  url: string,
  batch: number,
  postmaster: number,
): Promise<{ rate: number; nodeUs: number; pgUs: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
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
    let best = 0;
    const node0 = procCpuMs(process.pid);
    const pg0 = pgCpuMs(postmaster);
    for (let round = 0; round < RAW_ROUNDS; round++) {
      await c.query('TRUNCATE bench_raw');
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
      best = Math.max(best, N / secs);
    }
    const perRow = (ms: number) => (ms * 1000) / (RAW_ROUNDS * N);
    const cpu = { nodeUs: perRow(procCpuMs(process.pid) - node0), pgUs: perRow(pgCpuMs(postmaster) - pg0) };
    await c.query('DROP TABLE bench_raw');
    return { rate: best, ...cpu };
  } finally {
    await c.end();
  }
}

/** BullMQ alone: jobs like the audit queue's, drained by a worker whose commit does nothing. */
const NOOP_QUEUE = 'audit-bench-noop';

/** The queue of the informational grouped rows: its own, so its jobs never meet real ones. */
const groupedQueue = (g: number) => `audit-bench-g${g}`;

/**
 * NOT the shipped design: the API side of "g events per BullMQ job". Events recorded in the
 * same turn share jobs of up to g (one `addBulk` for them all); each caller resolves once its
 * job is in Redis, as `AuditService.enqueue` does.
 */
class GroupedEnqueuer {
  private pending: Array<{ event: AuditEvent; resolve: () => void; reject: (e: unknown) => void }> = [];
  constructor(
    private readonly queue: Queue,
    private readonly g: number,
  ) {}

  enqueue(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ event, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const all = this.pending;
    this.pending = [];
    const jobs: Array<typeof all> = [];
    for (let at = 0; at < all.length; at += this.g) jobs.push(all.slice(at, at + this.g));
    this.queue
      .addBulk(
        jobs.map((j) => ({
          name: 'audit.events',
          data: j.map((p) => p.event),
          opts: { jobId: j[0].event.id },
        })),
      )
      .then(
        () => all.forEach((p) => p.resolve()),
        (err: unknown) => all.forEach((p) => p.reject(err)),
      );
  }
}

/** The forked worker: Warden's worker role, plus idle consumers for the grouped rows. */
async function workerChild(): Promise<void> {
  const env = JSON.parse(process.env.AUDIT_BENCH_WARDEN_ENV!) as Record<string, string>;
  const config = loadConfig(env);
  const w = await startWarden('worker', config, pino({ level: 'error' }));
  // The same repository and batcher as AuditProcessor; a job completes when all its events are committed.
  const repo = w.app.get(AuditEventRepository);
  const batcher = new MicroBatcher<AuditEvent>(
    async (batch) => void (await repo.append(batch)),
    config.audit.batchSize,
    config.audit.flushMs,
  );
  // BullMQ's own cost: the same jobs, options and batching, with a commit that does nothing.
  const noopBatcher = new MicroBatcher<AuditEvent>(
    async () => undefined,
    config.audit.batchSize,
    config.audit.flushMs,
  );
  const noop = new Worker(NOOP_QUEUE, (job: Job<AuditEvent>) => noopBatcher.add(job.data), {
    ...workerOptions(w.infra.redis, config.queue),
    concurrency: config.audit.batchSize * 2,
  });
  void noop.run();
  const grouped = GROUPS.map((g) => {
    const worker = new Worker(
      groupedQueue(g),
      async (job: Job<AuditEvent[]>) => void (await Promise.all(job.data.map((e) => batcher.add(e)))),
      // The same events in flight as the real worker: two batches' worth.
      {
        ...workerOptions(w.infra.redis, config.queue),
        concurrency: Math.ceil((config.audit.batchSize * 2) / g),
      },
    );
    void worker.run();
    return worker;
  });
  process.send!('ready');
  process.on('message', (m) => {
    if (m === 'stop')
      void Promise.all([noop, ...grouped].map((g) => g.close()))
        .then(() => w.stop())
        .then(() => process.exit(0));
  });
}

interface Run {
  enqueueSecs: number;
  e2eSecs: number;
  /** CPU µs per event, per process. */
  cpu: Record<keyof CpuRoles, number>;
  /** Transactions the workers committed the events in. */
  commits: number;
  redis: Array<{ cmd: string; calls: number; usec: number }>;
}

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

    const rawRun = await rawInsertRate(pg.url, config.audit.batchSize, pg.pid);
    const raw = rawRun.rate;

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

    // Warm-up: JIT, pools, prepared paths; then the measured run starts from a drained queue.
    const base0 = await countRows(pg.url);
    for (let i = 0; i < 2000; i++) await audit.enqueue(event(i));
    while ((await countRows(pg.url)) < base0 + 2000) await new Promise((r) => setTimeout(r, 25));

    const stats = new IORedis(ioredisOptions(api.infra.redis));
    const pids = { workers: children.map((c) => c.pid!), redis: redis.pid, postgres: pg.pid };
    /** N events through `enqueue`, IN_FLIGHT at a time, until the last row is committed. */
    const run = async (
      enqueue: (e: AuditEvent) => Promise<void>,
      /** When the run is over; by default, when all N rows are committed. */
      drained?: () => Promise<boolean>,
    ): Promise<Run> => {
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
      const enqueueSecs = Number(process.hrtime.bigint() - t0) / 1e9;
      const done = drained ?? (async () => (await countRows(pg.url)) >= base + N);
      while (!(await done())) await new Promise((r) => setTimeout(r, 25));
      const e2eSecs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu1 = cpuSnapshot(pids);
      const redisCmds = commandStats(await stats.info('commandstats'));
      const workerCommits = await commitsBetween(base, base + N);
      const cpu = Object.fromEntries(
        (Object.keys(cpu0) as Array<keyof CpuRoles>).map((k) => [k, ((cpu1[k] - cpu0[k]) * 1000) / N]),
      ) as Run['cpu'];
      return { enqueueSecs, e2eSecs, cpu, commits: workerCommits, redis: redisCmds };
    };

    const e2e = await run((e) => audit.enqueue(e));

    // Apart, to show which side limits: enqueue with the worker paused, then the drain alone.
    const queue = new Queue(QueueName.Audit, {
      connection: ioredisOptions(api.infra.redis),
      prefix: QUEUE_PREFIX,
    });
    await queue.pause();
    const apart = Array.from({ length: N }, (_, i) => event(i));
    const before = await countRows(pg.url);
    const t1 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < apart.length) await audit.enqueue(apart[next++]);
      }),
    );
    const aloneEnqueueSecs = Number(process.hrtime.bigint() - t1) / 1e9;
    const t2 = process.hrtime.bigint();
    await queue.resume();
    while ((await countRows(pg.url)) < before + N) await new Promise((r) => setTimeout(r, 25));
    const drainSecs = Number(process.hrtime.bigint() - t2) / 1e9;
    await queue.close();

    // The audit queue's job options (capped backoff included), on a queue of its own.
    const noopQueue = new Queue(NOOP_QUEUE, {
      connection: ioredisOptions(api.infra.redis),
      prefix: QUEUE_PREFIX,
      defaultJobOptions: api.app.get<Queue>(getQueueToken(QueueName.Audit)).defaultJobOptions,
    });
    const noopRun = await run(
      async (e) => void (await noopQueue.add(AuditJobName.Event, e, { jobId: e.id })),
      async () => {
        const c = await noopQueue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        return c.waiting + c.active + c.delayed + c.failed === 0;
      },
    );
    await noopQueue.close();

    const groupedRuns: Array<{ g: number; run: Run }> = [];
    for (const g of GROUPS) {
      const q = new Queue(groupedQueue(g), {
        connection: ioredisOptions(api.infra.redis),
        prefix: QUEUE_PREFIX,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: false, attempts: 10_000 },
      });
      const grouped = new GroupedEnqueuer(q, g);
      groupedRuns.push({ g, run: await run((e) => grouped.enqueue(e)) });
      await q.close();
    }
    await stats.quit();

    const verify = await api.app.get(AuditEventRepository).verify();
    const rate = N / e2e.e2eSecs;
    const ratio = rate / raw;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
    const pct = (r: number) => `${(r * 100).toFixed(1)}%`.padStart(6);
    console.log(
      `audit ingest, ${N} events, batch ${config.audit.batchSize}, flush ${config.audit.flushMs} ms, ` +
        `${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}${WORKER_NODE_ARGS.length ? ` (${WORKER_NODE_ARGS.join(' ')})` : ''}, ${os.cpus().length} CPUs`,
    );
    console.log('');
    console.log('| measure                                   |   events/s | of raw |');
    console.log('|-------------------------------------------|-----------:|-------:|');
    console.log(`| raw PostgreSQL insert (unnest, 1 conn)    | ${fmt(raw)} |        |`);
    console.log(`| API enqueue (AuditService → Redis)        | ${fmt(N / e2e.enqueueSecs)} |        |`);
    console.log(`| end to end (enqueue → row with hash)      | ${fmt(rate)} | ${pct(ratio)} |`);
    console.log(`| apart: enqueue only, worker paused        | ${fmt(N / aloneEnqueueSecs)} |        |`);
    console.log(`| apart: worker drain of a full queue       | ${fmt(N / drainSecs)} |        |`);
    console.log(
      `| BullMQ alone, no-op commit, e2e           | ${fmt(N / noopRun.e2eSecs)} | ${pct(N / noopRun.e2eSecs / raw)} |`,
    );
    for (const { g, run: r } of groupedRuns)
      console.log(
        `| NOT the design: ${String(g).padStart(3)} events per job, e2e   | ${fmt(N / r.e2eSecs)} | ${pct(N / r.e2eSecs / raw)} |`,
      );
    console.log('');
    // Where each run's CPU went, per event: what a faster pipeline has to cut, next to the
    // two cores' capacity (2 s of CPU per second).
    const label = ['end to end', 'no-op', ...groupedRuns.map((r) => `${r.g}/job`)];
    const runs = [e2e, noopRun, ...groupedRuns.map((r) => r.run)];
    console.log(`| CPU µs per event       | ${label.map((l) => l.padStart(10)).join(' | ')} | raw insert |`);
    console.log(`|------------------------|${label.map(() => '-----------:|').join('')}-----------:|`);
    const rawUs: Partial<Record<keyof CpuRoles, number>> = { api: rawRun.nodeUs, postgres: rawRun.pgUs };
    const row = (name: string, vals: number[], rawVal?: number) =>
      console.log(
        `| ${name.padEnd(22)} | ${vals.map((v) => (Number.isFinite(v) ? v.toFixed(1) : '—').padStart(10)).join(' | ')} | ${(rawVal?.toFixed(1) ?? '—').padStart(10)} |`,
      );
    for (const k of ['api', 'worker', 'redis', 'postgres'] as const)
      row(
        k === 'api' ? 'API (bench process)' : k,
        runs.map((r) => r.cpu[k]),
        rawUs[k],
      );
    const sum = (r: Run) => r.cpu.api + r.cpu.worker + r.cpu.redis + r.cpu.postgres;
    row('all four', runs.map(sum), rawRun.nodeUs + rawRun.pgUs);
    row(
      'host busy (+ others)',
      runs.map((r) => r.cpu['host busy']),
    );
    row(
      `capacity (${os.cpus().length} cores)`,
      runs.map((r) => (os.cpus().length * r.e2eSecs * 1e6) / N),
      (os.cpus().length * 1e6) / raw,
    );
    row(
      'events per commit',
      runs.map((r) => (r.commits ? N / r.commits : NaN)),
      config.audit.batchSize,
    );
    console.log('');
    console.log('| redis command (end to end) | calls/event | µs/call | µs/event |');
    console.log('|----------------------------|------------:|--------:|---------:|');
    for (const c of e2e.redis.slice(0, 6))
      console.log(
        `| ${c.cmd.padEnd(26)} | ${(c.calls / N).toFixed(2).padStart(11)} | ${(c.usec / Math.max(1, c.calls)).toFixed(1).padStart(7)} | ${(c.usec / N).toFixed(1).padStart(8)} |`,
      );
    console.log('');
    console.log(
      `ratio end-to-end / raw: ${(ratio * 100).toFixed(1)}% (target ≥ ${TARGET_RATIO * 100}%) ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
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
