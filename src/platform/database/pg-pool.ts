import * as pg from 'pg';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** How long anything waits for a pooled PostgreSQL connection, unless WARDEN_DB_CONNECT_TIMEOUT says otherwise. */
export const CONNECT_TIMEOUT_MS = 1000;

/**
 * Warden's one way to PostgreSQL (STYLE habit 6; issue 13, point 8):
 *
 *     createPgPool(url) ──► pg.Pool ◄── PlainSql / PG_POOL   plain queries (a launch's lookups)
 *                              ▲
 *     createDataSource(url) ───┘ TypeORM's documented `driver` option hands it this pool:
 *                                migrations, `transaction()`, `query()`
 *
 * The pool is built here, not by TypeORM, so the plain-query path holds a public handle on it
 * (`poolOf(ds)`, or the `PG_POOL` provider) instead of reaching into TypeORM's private
 * `driver.master`. One pool: the same connections, limits and type parsing for both.
 */
export function createPgPool(url: string, opts: { max?: number; connectTimeoutMs?: number } = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: 'warden',
    // While PostgreSQL is down (restarting under supervision, or an external one away), a
    // request waits at most this long for a connection, then answers 503 DB_UNAVAILABLE.
    connectionTimeoutMillis: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
  });
  // PostgreSQL ending a connection (killed, restarted under supervision) is an 'error' event on
  // the client, and on the pool for an idle one; an 'error' nobody listens to throws. The
  // query that was using the connection gets the error itself (503); a client that is checked
  // out between queries (a transaction) learns of it from its next query.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * `pg` as TypeORM's `driver` option (PostgresDataSourceOptions.driver: "the driver object,
 * defaults to require('pg')"), except that `new Pool()` returns `pool`: TypeORM then runs on
 * it, and ends it when the DataSource is destroyed.
 */
export function pgDriverFor(pool: Pool): typeof pg {
  function SharedPool(): Pool {
    return pool;
  }
  return { ...pg, Pool: SharedPool as unknown as typeof pg.Pool };
}

const pools = new WeakMap<DataSource, Pool>();

/** Records that `ds` runs on `pool` (createDataSource does). */
export function registerPool(ds: DataSource, pool: Pool): void {
  pools.set(ds, pool);
}

/** The pg pool a DataSource made by createDataSource runs on: the public handle for plain queries. */
export function poolOf(ds: DataSource): Pool {
  const pool = pools.get(ds);
  if (!pool) throw new Error('this DataSource was not made by createDataSource: it has no shared pg pool');
  return pool;
}
