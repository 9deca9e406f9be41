import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

/** How long anything waits for a pooled PostgreSQL connection. */
export const CONNECT_TIMEOUT_MS = 1000;

/**
 * Warden's TypeORM DataSource. Schema comes only from migrations (`synchronize` is never
 * on); repositories write SQL through `query()`, so no entities are registered.
 */
export function createDataSource(url: string, opts: { poolSize?: number } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'warden_migrations',
    migrationsTransactionMode: 'each',
    extra: {
      max: opts.poolSize ?? 10,
      application_name: 'warden',
      // While PostgreSQL is down (restarting under supervision, or an external one away), a
      // request waits at most this long for a connection, then answers 503 DATABASE_UNAVAILABLE.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
    logging: false,
  });
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
