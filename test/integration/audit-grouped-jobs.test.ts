import { Job, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { AuditEvent, AuditEventInput, AuditJobName, AuditService, groupJobId } from '../../src/audit';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
import { assertBuilt, CliProcess, startCli } from '../utils/cli';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Grouped audit jobs with real processes: the API role (`serve`, which only enqueues) in this
 * process, workers as separate `warden worker` processes (killed -9 in one test), a private
 * redis-server and PostgreSQL. Short lock timings so a dead worker's jobs come back in seconds.
 */
const WORKER_ENV = {
  WARDEN_QUEUE_LOCK_MS: '2000',
  WARDEN_QUEUE_STALLED_CHECK_MS: '1000',
  WARDEN_LOG_LEVEL: 'warn',
};

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: randomUUID(),
  occurredAt: new Date().toISOString(),
  type: 'api.call',
  principal: `p${i % 7}`,
  source: { via: 'http', ip: '127.0.0.1' },
  subject: `thing-${i}`,
  payload: { i },
  ...over,
});
const input = (i: number): AuditEventInput => ({
  type: 'container.created',
  principal: 'grouper',
  source: { via: 'http', ip: '127.0.0.1' },
  subject: `c-${i}`,
  payload: { i },
});

/** The events every job in the given states carries, by job. */
async function jobsWithEvents(queue: Queue, states: Array<'waiting' | 'active' | 'failed'>) {
  const jobs: Job[] = await queue.getJobs(states, 0, -1);
  return jobs.map((j) => ({
    job: j,
    events: (j.name === AuditJobName.Events ? j.data.events : [j.data]) as AuditEvent[],
  }));
}

describe('grouped audit jobs: one job for many events, deduped per event, acknowledged only when durable', () => {
  let w: TestWarden;
  let db: Pool;
  let queue: Queue;
  let dataDir: string;
  let audit: AuditService;
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
  const stopWorker = async (p: CliProcess) => {
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(0);
  };
  const stored = async (ids: string[]) =>
    Number(
      (await db.query('SELECT count(*) AS n FROM audit_events WHERE id = ANY($1::uuid[])', [ids])).rows[0].n,
    );
  const seqsOf = async (ids: string[]): Promise<number[]> => {
    const { rows } = await db.query<{ id: string; seq: string }>(
      'SELECT id, seq FROM audit_events WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const seq = new Map(rows.map((r) => [r.id, Number(r.seq)]));
    return ids.map((id) => seq.get(id) ?? NaN);
  };
  const total = async () => Number((await db.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);
  const verifyAll = async () => {
    const verify = await api(w, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, rows: await total() });
  };
  const drained = () =>
    eventually('the queue to drain', async () => {
      const c = await queue.getJobCounts('active', 'waiting', 'delayed', 'failed');
      return c.active + c.waiting + c.delayed + c.failed === 0;
    });

  beforeAll(async () => {
    assertBuilt();
    w = await startTestWarden('serve');
    db = new Pool({ connectionString: w.databaseUrl, max: 2 });
    queue = new Queue(QueueName.Audit, { connection: ioredisOptions(w.infra.redis), prefix: QUEUE_PREFIX });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-worker-'));
    audit = w.app.get(AuditService);
    // serve's own boot events: committed first, so every test starts from an empty queue.
    const worker = startWorker();
    await drained();
    await stopWorker(worker);
  });
  afterAll(async () => {
    for (const p of workers)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(workers.map((p) => p.exit));
    await queue?.close();
    await db?.end();
    await w?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('recordAll puts its events in one job, committed in their order, contiguously', async () => {
    const events = await audit.recordAll([0, 1, 2, 3, 4].map(input));
    const jobs = await jobsWithEvents(queue, ['waiting']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].job.name).toBe(AuditJobName.Events);
    expect(jobs[0].job.id).toBe(groupJobId(events));
    expect(jobs[0].events.map((e) => e.id)).toEqual(events.map((e) => e.id));

    const worker = startWorker();
    await eventually('the group stored', async () => (await stored(events.map((e) => e.id))) === 5, 60000);
    await stopWorker(worker);
    const seqs = await seqsOf(events.map((e) => e.id));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
    await verifyAll();
  });

  it('a grouped job resent while it waits is one job; resent after its commit, or inside a larger group, its events are one row each', async () => {
    const group = [0, 1, 2].map((i) => event(i));
    await audit.enqueueAll(group);
    await audit.enqueueAll(group.map((e) => ({ ...e, payload: { resent: true } })));
    // No worker yet: the two copies met in the queue, and the group's jobId made them one.
    let jobs = await jobsWithEvents(queue, ['waiting']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].events.map((e) => e.payload)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);

    // The same events led by a new one: another job (a jobId of the first event would have
    // made BullMQ drop it as a duplicate, losing the new event), deduped in SQL instead.
    const fresh = event(3);
    await audit.enqueueAll([group[0], fresh, group[1], group[2]]);
    jobs = await jobsWithEvents(queue, ['waiting']);
    expect(jobs).toHaveLength(2);

    const worker = startWorker();
    const ids = [...group, fresh].map((e) => e.id);
    await eventually('the events stored', async () => (await stored(ids)) === 4, 60000);
    // After the commit the job ids are free again (removeOnComplete): only SQL stops these.
    await audit.enqueueAll(group);
    await audit.enqueueAll([fresh, group[2]]);
    const marker = event(9);
    await audit.enqueue(marker);
    await eventually('the marker behind them', async () => (await stored([marker.id])) === 1);
    await drained();
    await stopWorker(worker);
    expect(await stored(ids)).toBe(4);
    const { rows } = await db.query('SELECT payload FROM audit_events WHERE id = $1', [group[0].id]);
    expect(rows[0].payload).toEqual({ i: 0 }); // the first copy's, never overwritten
    const dupes = await db.query('SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1');
    expect(dupes.rows).toEqual([]);
    await verifyAll();
  });

  it('a group with an id PostgreSQL would respell is refused whole, before anything is enqueued', async () => {
    const before = await queue.getWaitingCount();
    const group = [event(0), event(1), event(2)];
    group[1] = { ...group[1], id: group[1].id.toUpperCase() };
    await expect(audit.enqueueAll(group)).rejects.toThrow(/not a lowercase, hyphenated UUID/);
    expect(await queue.getWaitingCount()).toBe(before);
  });

  it('a grouped job with an event PostgreSQL refuses: the rest of its group and its batch are stored, the job fails once, unrecoverably', async () => {
    const good = Array.from({ length: 20 }, (_, i) => event(i));
    // jsonb refuses \u0000: this event can never be stored, however often it is retried.
    const bad = event(99, { payload: { arg: 'a\u0000b' } });
    const group = [good[0], good[1], bad, good[2], good[3]];
    await audit.enqueueAll(group);
    await audit.enqueueAll(good.slice(4, 12)); // another grouped job in the same batch
    for (const e of good.slice(12)) await audit.enqueue(e); // and single ones
    const worker = startWorker();
    await eventually('the good events', async () => (await stored(good.map((e) => e.id))) === 20, 60000);
    const failed = await eventually('the grouped job in the failed set', async () =>
      queue.getJob(groupJobId(group)).then((j) => (j?.finishedOn ? j : undefined)),
    );
    expect(failed.failedReason).toMatch(
      new RegExp(`audit event ${bad.id} \\(api.call\\) refused by PostgreSQL`),
    );
    expect(failed.attemptsMade).toBe(1);
    expect(await stored([bad.id])).toBe(0);
    // The good events of the bad event's group kept their order around the gap it left.
    const seqs = await seqsOf([good[0], good[1], good[2], good[3]].map((e) => e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await stopWorker(worker);
    await failed.remove(); // so the tests below start from an empty failed set
    await verifyAll();
  });

  it('groups recorded concurrently from many callers: each group contiguous and in order, the chain one line', async () => {
    const groups = Array.from({ length: 60 }, (_, g) =>
      Array.from({ length: 7 }, (_, i) => input(g * 7 + i)),
    );
    const singles = Array.from({ length: 200 }, (_, i) => event(i));
    const worker = startWorker(); // running while they arrive: batches cut across jobs
    const [recorded] = await Promise.all([
      Promise.all(groups.map((g) => audit.recordAll(g))),
      Promise.all(singles.map((e) => audit.enqueue(e))),
    ]);
    const ids = [...recorded.flat(), ...singles].map((e) => e.id);
    await eventually('every event', async () => (await stored(ids)) === ids.length, 60000);
    await stopWorker(worker);
    for (const g of recorded) {
      const seqs = await seqsOf(g.map((e) => e.id));
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
    }
    await verifyAll();
  });

  it('is acknowledged only once Redis holds the job: a caller waits while Redis is stopped, and every acknowledged event is in a job', async () => {
    const redisDir = path.dirname(new URL(w.redisUrl).pathname);
    const redisPid = Number(fs.readFileSync(path.join(redisDir, 'redis.pid'), 'utf8'));
    const e = event(0);
    let acked = false;
    process.kill(redisPid, 'SIGSTOP');
    let pending: Promise<void>;
    try {
      pending = audit.enqueue(e).then(() => void (acked = true));
      // Sends that arrive meanwhile wait and will travel together in the next job.
      await new Promise((r) => setTimeout(r, 1000));
      expect(acked).toBe(false);
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
    await pending;
    expect((await queue.getJob(e.id))?.data).toMatchObject({ id: e.id });

    // Under concurrency: each caller checks the moment it is acknowledged, nothing else waiting.
    const events = Array.from({ length: 1000 }, (_, i) => event(i));
    const ackedIds: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < events.length) {
          const mine = events[next++];
          await audit.enqueue(mine);
          ackedIds.push(mine.id);
        }
      }),
    );
    const inRedis = new Set(
      (await jobsWithEvents(queue, ['waiting'])).flatMap((j) => j.events.map((x) => x.id)),
    );
    expect(ackedIds.filter((id) => !inRedis.has(id))).toEqual([]);
    const jobs = await queue.getWaitingCount();
    expect(jobs).toBeLessThan(events.length / 4); // they travelled grouped
    const worker = startWorker();
    await drained();
    await stopWorker(worker);
    expect(await stored([e.id, ...ackedIds])).toBe(1001);
  });

  it('a worker killed -9 mid-batch of grouped jobs, and a new one: every event stored once, groups whole, chain intact', async () => {
    const groups = Array.from({ length: 400 }, (_, g) =>
      Array.from({ length: 10 }, (_, i) => event(g * 10 + i)),
    );
    const singles = Array.from({ length: 1000 }, (_, i) => event(i));
    await Promise.all([...groups.map((g) => audit.enqueueAll(g)), ...singles.map((e) => audit.enqueue(e))]);
    const ids = [...groups.flat(), ...singles].map((e) => e.id);

    const first = startWorker();
    await eventually(
      'the first worker to commit some of the events',
      async () => (await stored(ids)) >= 250,
      60000,
    );
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe('SIGKILL');
    const landed = await stored(ids);
    expect(landed).toBeLessThan(ids.length);
    // The dead worker's jobs are still locked to it: what only stalled-job recovery can free.
    expect(await queue.getActiveCount()).toBeGreaterThan(0);

    const second = startWorker();
    await eventually('every event after recovery', async () => (await stored(ids)) === ids.length, 60000);
    await drained();
    await stopWorker(second);
    const dupes = await db.query('SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1');
    expect(dupes.rows).toEqual([]);
    // A group is committed in one transaction: the kill left none half-stored.
    for (const g of groups) {
      const seqs = await seqsOf(g.map((e) => e.id));
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
    }
    await verifyAll();
  });
});
