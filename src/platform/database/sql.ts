import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Plain queries straight to the pg pool TypeORM opened, for the repositories on a launch's
 * path. `DataSource.query` builds and releases a QueryRunner around every statement: measured
 * here ~250-300 µs of CPU per trivial query against ~100-150 µs for the same query on the
 * pool, and a launch makes about a dozen. Same pool, same connections, same type parsing;
 * errors are pg's own (`code` is the SQLSTATE). Transactions still go through TypeORM.
 */
export class PlainSql {
  private pool?: Pool;

  constructor(private readonly ds: DataSource) {}

  /** The result rows (RETURNING rows for INSERT/UPDATE/DELETE). */
  async rows<R>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.connection().query(text, params)).rows as R[];
  }

  /** The number of rows the statement affected. */
  async count(text: string, params: unknown[] = []): Promise<number> {
    return (await this.connection().query(text, params)).rowCount ?? 0;
  }

  private connection(): Pool {
    // The pool exists once the DataSource is initialized (before any request is served).
    this.pool ??= (this.ds.driver as unknown as { master?: Pool }).master;
    if (!this.pool) throw new Error('database not initialized');
    return this.pool;
  }
}
