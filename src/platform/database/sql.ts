import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { poolOf } from './pg-pool';

/**
 * Plain queries on the pg pool the DataSource runs on (pg-pool.ts: the pool is Warden's own,
 * handed to TypeORM through its documented `driver` option), for the repositories on a
 * launch's path. `DataSource.query` builds and releases a QueryRunner around every statement:
 * measured here ~250-300 µs of CPU per trivial query against ~100-150 µs for the same query
 * on the pool, and a launch makes about a dozen. Same pool, same connections, same type
 * parsing; errors are pg's own (`code` is the SQLSTATE). Transactions go through TypeORM, but
 * for the audit chain's append (two round trips: AuditEventRepository.append).
 */
export class PlainSql {
  private readonly pool: Pool;

  constructor(source: DataSource | Pool) {
    this.pool = 'query' in source && 'totalCount' in source ? source : poolOf(source);
  }

  /** The result rows (RETURNING rows for INSERT/UPDATE/DELETE). */
  async rows<R>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query(text, params)).rows as R[];
  }

  /** The number of rows the statement affected. */
  async count(text: string, params: unknown[] = []): Promise<number> {
    return (await this.pool.query(text, params)).rowCount ?? 0;
  }
}
