import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { AuditService } from '../../src/audit';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The audit worker through repeated kill -9 of redis-server (issue 13, point 4): events are
 * recorded steadily while the test's own (supervised) redis-server is killed again and again.
 * Every acknowledged event must be committed, once, and the trail must not stall: the time
 * from the last kill to the last commit is measured and bounded.
 */
const KILLS = Number(process.env.KILLS ?? 8);

describe('audit worker through repeated redis-server kills', () => {
  let w: TestWarden;
  let db: Pool;
  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_QUEUE_LOCK_MS: '3000', WARDEN_QUEUE_STALLED_CHECK_MS: '1000' });
    db = new Pool({ connectionString: w.databaseUrl, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await w?.close();
  });

  it(`${KILLS} kills under steady writes: 0 lost, 0 duplicated, drained soon after the last kill`, async () => {
    const audit = w.app.get(AuditService);
    const acked: string[] = [];
    let refused = 0;
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, k) => {
      for (let i = 0; !stop; i++) {
        try {
          const e = await audit.record({
            type: 'api.call',
            principal: 'redis-kills',
            source: { via: 'system' },
            payload: { k, i },
          });
          acked.push(e.id);
        } catch {
          refused++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    const gaps: number[] = [];
    for (let n = 0; n < KILLS; n++) {
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
      const pid = w.redis.pid;
      if (pid) process.kill(pid, 'SIGKILL');
      const t0 = Date.now();
      await eventually('redis back', async () => w.redis.pid !== 0 && w.redis.pid !== pid, 15_000);
      gaps.push(Date.now() - t0);
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(writers);
    const lastKillAt = Date.now();
    const stored = async () =>
      Number(
        (await db.query(`SELECT count(*) AS n FROM audit_events WHERE id = ANY($1::uuid[])`, [acked])).rows[0]
          .n,
      );
    // Where the jobs are while the trail catches up, every 3 s: how the stall was found.
    const q = new Queue(QueueName.Audit, { connection: ioredisOptions(w.infra.redis), prefix: QUEUE_PREFIX });
    const probe = setInterval(() => {
      void Promise.all([
        q.getJobCounts('active', 'waiting', 'delayed', 'failed', 'prioritized'),
        stored(),
      ]).then(([c, n]) =>
        console.log(`+${Date.now() - lastKillAt} ms ${JSON.stringify(c)} stored ${n}/${acked.length}`),
      );
    }, 3000);
    await eventually(
      'every acknowledged event committed',
      async () => (await stored()) === acked.length,
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await stored()} of ${acked.length}`);
    });
    const drainMs = Date.now() - lastKillAt;
    clearInterval(probe);
    await q.close();
    const dupes = await db.query(`SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1`);
    console.log(
      `${KILLS} kills (redis back in ${gaps.join(', ')} ms): ${acked.length} acknowledged, ${refused} refused (503), all committed ${drainMs} ms after the writes stopped`,
    );
    expect(dupes.rows).toEqual([]);
    expect(drainMs).toBeLessThan(15_000);
    expect((await api(w, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
  });
});
