import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { createPgPool, pgDriverFor, registerPool } from './pg-pool';

/**
 * Warden's TypeORM DataSource. Schema comes only from migrations (`synchronize` is never
 * on); repositories write SQL through `query()` (or PlainSql), so no entities are registered.
 */
export function createDataSource(
  url: string,
  opts: { poolSize?: number; connectTimeoutMs?: number } = {},
): DataSource {
  // The pool is ours (pg-pool.ts): TypeORM runs on it through its `driver` option, and plain
  // queries reach it through poolOf(ds).
  const pool = createPgPool(url, { max: opts.poolSize ?? 10, connectTimeoutMs: opts.connectTimeoutMs });
  const ds = new DataSource({
    type: 'postgres',
    url,
    driver: pgDriverFor(pool),
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'warden_migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
  registerPool(ds, pool);
  return ds;
}

export interface MigrationStatus {
  name: string;
  applied: boolean;
}

export async function migrationStatus(ds: DataSource): Promise<MigrationStatus[]> {
  const rows: Array<{ name: string }> = (await ds
    .query(`SELECT to_regclass('warden_migrations') IS NOT NULL AS present`)
    .then(async (r: Array<{ present: boolean }>) =>
      r[0].present ? ds.query(`SELECT name FROM warden_migrations`) : [],
    )) as Array<{ name: string }>;
  const applied = new Set(rows.map((r) => r.name));
  return MIGRATIONS.map((m) => ({ name: m.name, applied: applied.has(m.name) }));
}
