import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { AuditEvent, AuditEventRepository, AuditService } from '../../src/audit';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
import { assertBuilt, CliProcess, startCli } from '../utils/cli';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The audit trail under failure, with real processes: the API role (`serve`, which only
 * enqueues) in this process, workers as separate `warden worker` processes that we kill -9.
 * Short lock timings so a dead worker's jobs come back in seconds, not BullMQ's minute.
 */
const WORKER_ENV = {
  WARDEN_QUEUE_LOCK_MS: '2000',
  WARDEN_QUEUE_STALLED_CHECK_MS: '1000',
  WARDEN_LOG_LEVEL: 'warn',
};

const event = (i: number): AuditEvent => ({
  id: randomUUID(),
  occurredAt: new Date().toISOString(),
  type: 'api.call',
  principal: `p${i % 7}`,
  source: { via: 'http', ip: '127.0.0.1' },
  subject: `thing-${i}`,
  payload: { i },
});

describe('audit trail robustness: duplicates and a worker killed mid-batch', () => {
  let w: TestWarden;
  let db: Pool;
  let queue: Queue;
  let dataDir: string;
  const workers: CliProcess[] = [];

  const startWorker = () => {
    const p = startCli(['worker'], {
      DATABASE_URL: w.databaseUrl,
      REDIS_URL: w.redisUrl,
      WARDEN_DATA_DIR: dataDir,
      ...WORKER_ENV,
    });
    workers.push(p);
    return p;
  };
  const stored = async (ids: string[]) =>
    Number(
      (await db.query('SELECT count(*) AS n FROM audit_events WHERE id = ANY($1::uuid[])', [ids])).rows[0].n,
    );
  const total = async () => Number((await db.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);

  beforeAll(async () => {
    assertBuilt();
    w = await startTestWarden('serve');
    db = new Pool({ connectionString: w.databaseUrl, max: 2 });
    queue = new Queue(QueueName.Audit, { connection: ioredisOptions(w.infra.redis), prefix: QUEUE_PREFIX });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-worker-'));
  });
  afterAll(async () => {
    for (const p of workers)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(workers.map((p) => p.exit));
    await queue?.close();
    await db?.end();
    await w?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an event enqueued twice while the first copy still waits is one job, and one row', async () => {
    const e = event(0);
    const audit = w.app.get(AuditService);
    const before = await queue.getWaitingCount(); // serve's own boot events
    await audit.enqueue(e);
    await audit.enqueue({ ...e, payload: { i: 'second copy' } });
    // No worker runs yet: both copies met in the queue, and the jobId made them one.
    expect(await queue.getWaitingCount()).toBe(before + 1);
    expect((await queue.getJob(e.id))?.data.payload).toEqual({ i: 0 });

    const worker = startWorker();
    await eventually('the event stored', async () => (await stored([e.id])) === 1, 60000);
    worker.child.kill('SIGINT');
    expect(await worker.exit).toBe(0);
    expect(await stored([e.id])).toBe(1);
  });

  it('refuses an event id PostgreSQL would store spelled differently (the chain would not verify)', async () => {
    const e = event(9);
    const audit = w.app.get(AuditService);
    const before = await queue.getWaitingCount();
    await expect(audit.enqueue({ ...e, id: e.id.toUpperCase() })).rejects.toThrow(
      /not a lowercase, hyphenated UUID/,
    );
    await expect(audit.enqueue({ ...e, id: e.id.replace(/-/g, '') })).rejects.toThrow(/UUID/);
    expect(await queue.getWaitingCount()).toBe(before);
  });

  it('an event enqueued again after the first copy was committed is skipped, not stored twice', async () => {
    const e = event(1);
    const audit = w.app.get(AuditService);
    await audit.enqueue(e);
    const worker = startWorker();
    await eventually('the first copy', async () => (await stored([e.id])) === 1, 60000);
    // removeOnComplete freed the job id: this copy is a new job, and only SQL can stop it.
    await audit.enqueue(e);
    const marker = event(2);
    await audit.enqueue(marker);
    await eventually('the marker behind it', async () => (await stored([marker.id])) === 1);
    expect(await stored([e.id])).toBe(1);
    worker.child.kill('SIGINT');
    expect(await worker.exit).toBe(0);

    // The repository's own guard, with the copy in the same batch and in a later one.
    const repo = w.app.get(AuditEventRepository);
    const f = event(3);
    expect(await repo.append([f, { ...f }])).toBe(1);
    expect(await repo.append([f, e])).toBe(0);
    expect(await stored([f.id])).toBe(1);
    const verify = await api(w, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, rows: await total() });
  });

  it('appends racing for the chain lock on many connections make one unbroken chain, each event once', async () => {
    // Two workers, or one whose batches overlap: every append waits for the lock and must
    // then see the head and the ids its predecessor just committed.
    const repo = w.app.get(AuditEventRepository);
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => event(b * 50 + i)),
    );
    const ids = batches.flat().map((e) => e.id);
    batches[5].push(batches[2][7], batches[6][0]); // the same event in two racing batches
    const added = await Promise.all(batches.map((b) => repo.append(b)));
    expect(added.reduce((a, n) => a + n, 0)).toBe(400);
    expect(await stored(ids)).toBe(400);
    const verify = await api(w, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, rows: await total() });
  });

  it('an event PostgreSQL refuses fails alone and does not hold back the batch it came in', async () => {
    const audit = w.app.get(AuditService);
    const good = Array.from({ length: 20 }, (_, i) => event(i));
    // jsonb refuses \u0000: this event can never be stored, however often it is retried.
    const bad = { ...event(99), payload: { arg: 'a\u0000b' } };
    for (const e of [...good.slice(0, 10), bad, ...good.slice(10)]) await audit.enqueue(e);
    const worker = startWorker();
    await eventually('the good events', async () => (await stored(good.map((e) => e.id))) === 20, 60000);
    const failed = await eventually('the refused event in the failed set', async () =>
      queue.getJob(bad.id).then((j) => (j?.finishedOn ? j : undefined)),
    );
    expect(failed.failedReason).toMatch(/refused by PostgreSQL/);
    expect(failed.attemptsMade).toBe(1);
    expect(await stored([bad.id])).toBe(0);
    worker.child.kill('SIGINT');
    expect(await worker.exit).toBe(0);
    await failed.remove(); // so the crash test below starts from an empty failed set
  });

  it('a worker killed -9 mid-batch and a new one started: all 5000 events stored once, chain intact', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => event(i));
    const ids = events.map((e) => e.id);
    const audit = w.app.get(AuditService);
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < events.length) await audit.enqueue(events[next++]);
      }),
    );

    const first = startWorker();
    // Kill as soon as some batches have landed and more are in flight.
    await eventually(
      'the first worker to commit some of the events',
      async () => (await stored(ids)) >= 250,
      60000,
    );
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe('SIGKILL');
    const landed = await stored(ids);
    expect(landed).toBeLessThan(5000);
    // The dead worker's jobs are still locked to it: what only stalled-job recovery can free.
    expect(await queue.getActiveCount()).toBeGreaterThan(0);

    const second = startWorker();
    await eventually('every event after recovery', async () => (await stored(ids)) === 5000, 60000);
    await eventually('the queue to drain', async () => {
      const c = await queue.getJobCounts('active', 'waiting', 'delayed', 'failed');
      return c.active + c.waiting + c.delayed + c.failed === 0;
    });
    const dupes = await db.query('SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1');
    expect(dupes.rows).toEqual([]);
    const verify = await api(w, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, rows: await total() });

    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  });
});
