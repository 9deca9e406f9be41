import { Queue } from 'bullmq';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import pino from 'pino';
import { AuditService } from '../../src/audit';
import { RunningWarden, startWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
import { eventually, freshRedis, quietLog } from '../utils/services';
import { api, ADMIN_TOKEN } from '../utils/warden';

/**
 * Postgres goes away under a running Warden (role `up`: API and worker in this process) and
 * comes back on the same port. Events recorded meanwhile wait in Redis, failed batches are
 * retried with the capped backoff, and everything lands once, in one unbroken chain. This file
 * has its own PostgreSQL: stopping the run's shared one would break every other test.
 */
describe('audit trail across a PostgreSQL outage', () => {
  let dir: string;
  let pg: EmbeddedPostgresHandle;
  let redis: Awaited<ReturnType<typeof freshRedis>>;
  let w: RunningWarden & { url?: string };
  let db: Pool;
  let queue: Queue;

  const ours = async (ids: string[]) =>
    Number(
      (await db.query('SELECT count(*) AS n FROM audit_events WHERE id = ANY($1::uuid[])', [ids])).rows[0].n,
    );

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-outage-'));
    [pg, redis] = await Promise.all([startEmbeddedPostgres(path.join(dir, 'pg'), quietLog), freshRedis()]);
    const config = loadConfig({
      WARDEN_DATA_DIR: path.join(dir, 'data'),
      WARDEN_PORT: '0',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      WARDEN_LOG_LEVEL: 'silent',
    });
    w = await startWarden('up', config, pino({ level: 'silent' }));
    db = new Pool({ connectionString: pg.url, max: 1 });
    // Our own polling pool must survive the outage too: idle clients error when the server goes.
    db.on('error', () => undefined);
    queue = new Queue(QueueName.Audit, { connection: ioredisOptions(w.infra.redis), prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    await queue?.close();
    await db?.end();
    await w?.stop();
    await pg?.stop();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('events recorded while PostgreSQL is down all arrive after it is back, chain intact, none twice', async () => {
    const audit = w.app.get(AuditService);
    const record = (n: number, phase: string) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          audit.record({
            type: 'api.call',
            principal: 'tester',
            source: { via: 'system' },
            subject: phase,
            payload: { i },
          }),
        ),
      );
    const before = await record(50, 'before');
    await eventually('events before the outage', async () => (await ours(before.map((e) => e.id))) === 50);

    const port = pg.port;
    await pg.stop();
    await db.end();
    // Accepted while the database is down: recording resolves once Redis has the event.
    const during = await record(500, 'during');
    // Batches fail and their jobs back off (200, 400, 800, 1600 ms …) instead of failing for good.
    await eventually('failed batches to be backing off', async () => (await queue.getDelayedCount()) > 0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await queue.getFailedCount()).toBe(0);
    expect((await api({ url: w.url! }, 'GET', '/audit/events?limit=1')).status).toBeGreaterThanOrEqual(500);

    pg = await startEmbeddedPostgres(path.join(dir, 'pg'), quietLog, { port });
    db = new Pool({ connectionString: pg.url, max: 1 });
    db.on('error', () => undefined);
    const after = await record(50, 'after');
    const ids = [...before, ...during, ...after].map((e) => e.id);
    // The backoff is capped at 10 s, so the queue drains within that of the database's return.
    await eventually('every event after the outage', async () => (await ours(ids)) === ids.length, 30000);

    const dupes = await db.query('SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1');
    expect(dupes.rows).toEqual([]);
    const [{ n }] = (await db.query('SELECT count(*)::int AS n FROM audit_events')).rows;
    // The API's own pool reconnected too: the verify endpoint reads through it.
    const verify = await api({ url: w.url! }, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, rows: n });
  });
});
