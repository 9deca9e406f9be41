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
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { Queue } from 'bullmq';
import { AuditEvent, AuditEventRepository, AuditService } from '../src/audit';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';
import { ioredisOptions, QUEUE_PREFIX, QueueName, startEmbeddedRedis } from '../src/platform/queue';

const N = Number(process.env.AUDIT_BENCH_N ?? 50_000);
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

/** Raw rows/s: the same columns and indexes, pre-built values, one connection, no chain. */
async function rawInsertRate(url: string, batch: number): Promise<number> {
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
    await c.query('DROP TABLE bench_raw');
    return best;
  } finally {
    await c.end();
  }
}

/** The forked worker: Warden's worker role, nothing else. */
async function workerChild(): Promise<void> {
  const env = JSON.parse(process.env.AUDIT_BENCH_WARDEN_ENV!) as Record<string, string>;
  const config = loadConfig(env);
  const w = await startWarden('worker', config, pino({ level: 'error' }));
  process.send!('ready');
  process.on('message', (m) => {
    if (m === 'stop') void w.stop().then(() => process.exit(0));
  });
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
  let child: ReturnType<typeof fork> | undefined;
  try {
    const api = await startWarden('serve', config, pino({ level: 'error' }));
    const audit = api.app.get(AuditService);

    const raw = await rawInsertRate(pg.url, config.audit.batchSize);

    child = fork(__filename, ['--worker'], {
      env: { ...process.env, AUDIT_BENCH_WARDEN_ENV: JSON.stringify(env) },
    });
    await new Promise<void>((resolve, reject) => {
      child!.once('message', () => resolve());
      child!.once('exit', (code) => reject(new Error(`bench worker exited ${code}`)));
    });

    // Warm-up: JIT, pools, prepared paths; then the measured run starts from a drained queue.
    const base0 = await countRows(pg.url);
    for (let i = 0; i < 2000; i++) await audit.enqueue(event(i));
    while ((await countRows(pg.url)) < base0 + 2000) await new Promise((r) => setTimeout(r, 25));

    const base = await countRows(pg.url);
    const events = Array.from({ length: N }, (_, i) => event(i));
    const t0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < events.length) await audit.enqueue(events[next++]);
      }),
    );
    const enqueueSecs = Number(process.hrtime.bigint() - t0) / 1e9;
    while ((await countRows(pg.url)) < base + N) await new Promise((r) => setTimeout(r, 25));
    const e2eSecs = Number(process.hrtime.bigint() - t0) / 1e9;

    // Apart, to show which side limits: enqueue with the worker paused, then the drain alone.
    const queue = new Queue(QueueName.Audit, {
      connection: ioredisOptions(api.infra.redis),
      prefix: QUEUE_PREFIX,
    });
    await queue.pause();
    const apart = Array.from({ length: N }, (_, i) => event(i));
    const t1 = process.hrtime.bigint();
    next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < apart.length) await audit.enqueue(apart[next++]);
      }),
    );
    const aloneEnqueueSecs = Number(process.hrtime.bigint() - t1) / 1e9;
    const t2 = process.hrtime.bigint();
    await queue.resume();
    while ((await countRows(pg.url)) < base + 2 * N) await new Promise((r) => setTimeout(r, 25));
    const drainSecs = Number(process.hrtime.bigint() - t2) / 1e9;
    await queue.close();

    const verify = await api.app.get(AuditEventRepository).verify();
    const e2e = N / e2eSecs;
    const ratio = e2e / raw;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
    console.log(
      `audit ingest, ${N} events, batch ${config.audit.batchSize}, flush ${config.audit.flushMs} ms, ${os.cpus().length} CPUs`,
    );
    console.log('');
    console.log('| measure                                   |   events/s |');
    console.log('|-------------------------------------------|-----------:|');
    console.log(`| raw PostgreSQL insert (unnest, 1 conn)    | ${fmt(raw)} |`);
    console.log(`| API enqueue (AuditService → Redis)        | ${fmt(N / enqueueSecs)} |`);
    console.log(`| end to end (enqueue → row with hash)      | ${fmt(e2e)} |`);
    console.log(`| apart: enqueue only, worker paused        | ${fmt(N / aloneEnqueueSecs)} |`);
    console.log(`| apart: worker drain of a full queue       | ${fmt(N / drainSecs)} |`);
    console.log('');
    console.log(
      `ratio end-to-end / raw: ${(ratio * 100).toFixed(1)}% (target ≥ ${TARGET_RATIO * 100}%) ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `chain: ${verify.ok ? `all ${verify.rows} rows verify` : `BROKEN at seq ${verify.firstBroken?.seq}`}`,
    );

    await poller?.end();
    child.send('stop');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
    await api.stop();
    if (ratio < TARGET_RATIO || !verify.ok) process.exitCode = 1;
  } finally {
    child?.kill('SIGKILL');
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
