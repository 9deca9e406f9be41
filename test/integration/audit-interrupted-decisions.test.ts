import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { freePort } from '../../src/platform/process/child-process';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
import { assertBuilt, CliProcess, startCli, waitHealthy } from '../utils/cli';
import { eventually, freshDatabase, freshRedis } from '../utils/services';
import { ADMIN_TOKEN } from '../utils/warden';

/**
 * Every launch request has its decision event (issue 13, point 4). The API (`warden serve`)
 * is killed -9 while launch requests are being decided, over several rounds; a worker process
 * keeps committing throughout. A kill between a request's row and its decision event leaves
 * the row alone; one such orphan is also planted (a row written as the API would, then no
 * event), so the sweep is always exercised. At the next boot, every request without a
 * decision gets one, `interrupted`, once: counted before and after.
 */
describe('a kill -9 between a launch request and its decision: recorded as interrupted at the next boot', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let redis: Awaited<ReturnType<typeof freshRedis>>;
  let pool: Pool;
  let queue: Queue;
  let dataDir: string;
  let worker: CliProcess;
  const cgroupParent = `warden-test-interrupted-${process.pid}`;

  beforeAll(async () => {
    assertBuilt();
    [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
    pool = new Pool({ connectionString: db.url, max: 2 });
    queue = new Queue(QueueName.Audit, { connection: ioredisOptions(redis.endpoint), prefix: QUEUE_PREFIX });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-interrupted-'));
  });
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGINT');
      await worker.exit;
    }
    await queue?.close();
    await pool?.end();
    await redis?.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (port: number) => ({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    WARDEN_DATA_DIR: dataDir,
    WARDEN_PORT: String(port),
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    WARDEN_CGROUP_PARENT: cgroupParent,
    WARDEN_LOG_LEVEL: 'warn',
    WARDEN_QUEUE_LOCK_MS: '2000',
    WARDEN_QUEUE_STALLED_CHECK_MS: '1000',
    WARDEN_LIVE_RESTORE: 'false',
  });

  async function serve(): Promise<{ cli: CliProcess; url: string }> {
    const port = await freePort();
    const cli = startCli(['serve'], env(port));
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, cli);
    return { cli, url };
  }

  async function one<R>(sql: string, params: unknown[] = []): Promise<R> {
    return (await pool.query(sql, params)).rows[0] as R;
  }
  /** Launch requests without a decision event, and with more than one. */
  const counts = () =>
    one<{ requests: number; orphans: number; doubled: number; interrupted: number }>(
      `SELECT (SELECT count(*) FROM launch_requests)::int AS requests,
              (SELECT count(*) FROM launch_requests lr WHERE NOT lr.request ? 'admission' AND NOT EXISTS (SELECT 1 FROM audit_events e
                 WHERE e.subject = lr.id::text AND e.type = 'policy.decision'))::int AS orphans,
              (SELECT count(*) FROM (SELECT subject FROM audit_events WHERE type = 'policy.decision'
                 GROUP BY subject HAVING count(*) > 1) d)::int AS doubled,
              (SELECT count(*) FROM audit_events WHERE type = 'policy.decision'
                 AND decision = 'interrupted')::int AS interrupted`,
    );
  const drained = () =>
    eventually(
      'the audit queue to drain',
      async () => {
        const c = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
        return c.active + c.waiting + c.delayed + c.prioritized === 0;
      },
      60_000,
    );

  it('counts: every request ends with exactly one decision event; the orphans are the interrupted ones', async () => {
    worker = startCli(['worker'], env(0));
    const rounds = Number(process.env.ROUNDS ?? 4);
    let answered = 0;
    let unanswered = 0;
    for (let round = 0; round < rounds; round++) {
      const api = await serve();
      // Warmed up (the first launch of a process loads the policy), so the burst runs at speed.
      await fetch(`${api.url}/containers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'busybox:1.35', cmd: ['true'] }),
      }).then((r) => r.text());
      // 16 clients launching in a loop; the API is killed -9 at a moment within the burst.
      let stop = false;
      const clients = Array.from({ length: 16 }, async (_, i) => {
        while (!stop) {
          try {
            const r = await fetch(`${api.url}/containers`, {
              method: 'POST',
              headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                image: 'busybox:1.35',
                cmd: ['true'],
                labels: { round: String(round), i: String(i) },
              }),
              signal: AbortSignal.timeout(5000),
            });
            await r.text();
            answered++;
          } catch {
            unanswered++;
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
      api.cli.child.kill('SIGKILL');
      expect(await api.cli.exit).toBe('SIGKILL');
      stop = true;
      await Promise.all(clients);
    }
    // One orphan for certain: a row written exactly as the API writes it, then no event.
    const planted = randomUUID();
    await pool.query(
      `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, policy_version, created_at)
       VALUES ($1, 'admin', '{}', '{"image":"busybox:1.35"}', '{}', '{"allowed":true,"reasons":[]}', NULL, now())`,
      [planted],
    );
    // A Kubernetes review's row: written with its event by the chain's commit, and that event's
    // subject is the reviewed object, not the row. Not an orphan: it gets no interrupted event.
    const reviewed = randomUUID();
    await pool.query(
      `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, policy_version, created_at)
       VALUES ($1, 'k8s-user:alice', '{}', '{"admission":{"review":"r-1","container":"web"}}', '{}',
               '{"allowed":true,"reasons":[]}', NULL, now())`,
      [reviewed],
    );
    await drained();
    const before = await counts();
    expect(before.orphans).toBeGreaterThanOrEqual(1);
    expect(before.doubled).toBe(0);

    const api = await serve();
    await eventually(
      'every request with its decision',
      async () => (await counts()).orphans === 0,
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${api.cli.output().slice(-3000)}`);
    });
    await drained();
    const after = await counts();
    expect(after).toEqual({
      requests: before.requests,
      orphans: 0,
      doubled: 0,
      interrupted: before.interrupted + before.orphans,
    });
    const event = await one<{ decision: string; payload: Record<string, unknown>; principal: string }>(
      `SELECT decision, payload, principal FROM audit_events WHERE subject = $1 AND type = 'policy.decision'`,
      [planted],
    );
    expect(event).toMatchObject({
      decision: 'interrupted',
      principal: 'admin',
      payload: { action: 'launch', launchRequestId: planted, decision: { allowed: true } },
    });
    expect(
      (await pool.query(`SELECT 1 FROM audit_events WHERE payload->>'launchRequestId' = $1`, [reviewed]))
        .rowCount,
    ).toBe(0);
    const verify = await fetch(`${api.url}/audit/verify`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await verify.json()).toMatchObject({ ok: true });
    // The report of the counted kill, for the session's notes.
    console.log(
      `kill -9 × ${rounds}: ${answered} launches answered, ${unanswered} cut off; ${before.requests} requests, ${before.orphans - 1} orphaned by a kill + 1 planted → ${after.interrupted} interrupted decisions`,
    );
    api.cli.child.kill('SIGINT');
    expect(await api.cli.exit).toBe(0);
  });
});
