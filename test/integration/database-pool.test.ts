import { createDataSource, createPgPool, PlainSql, poolOf } from '../../src/platform/database';
import { databaseUnavailable } from '../../src/platform/errors';
import { freePort } from '../../src/platform/process/child-process';
import { freshDatabase } from '../utils/services';

/**
 * The one way to PostgreSQL (issue 13, point 8): TypeORM runs on the pg Pool Warden builds,
 * and plain queries use that same pool through a public handle, not TypeORM's private
 * `driver.master`. And a database that is not there answers within the connect timeout.
 */
describe('database access: one pool, a public handle', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());

  it('TypeORM transactions and PlainSql run on the one pool poolOf(ds) hands out', async () => {
    const ds = await createDataSource(db.url, { poolSize: 3 }).initialize();
    const pool = poolOf(ds);
    // What TypeORM holds is the very pool we built (read here only to prove it).
    expect((ds.driver as unknown as { master: unknown }).master).toBe(pool);
    expect(pool.options.max).toBe(3);
    const sql = new PlainSql(ds);
    await sql.count('CREATE TABLE t (n int)');
    await ds.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1), (2)');
    });
    expect(await sql.rows<{ n: number }>('SELECT n FROM t ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
    // Three statements in flight at once on a pool of 3: both paths draw from the same slots.
    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    expect(pool.totalCount).toBe(3);
    const waiting = ds.query('SELECT 1 AS one');
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.waitingCount).toBe(1);
    held.forEach((c) => c.release());
    expect(await waiting).toEqual([{ one: 1 }]);
    await ds.destroy();
    expect(pool.ending).toBe(true);
  });

  it('a database that is not listening: the pool gives up within its connect timeout, seen as unavailable', async () => {
    const port = await freePort();
    const pool = createPgPool(`postgres://warden:x@127.0.0.1:${port}/warden`);
    const t0 = Date.now();
    const err = await pool.query('SELECT 1').catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(databaseUnavailable(err)?.code).toBe('DATABASE_UNAVAILABLE');
    await pool.end();
  });
});
