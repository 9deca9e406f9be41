import { DataSource } from 'typeorm';
import { createDataSource, migrationStatus, MigrationStatus } from './data-source';

/** Serialises migration runs across processes (several `warden serve` nodes starting at once). */
const MIGRATION_LOCK = 0x5741_524d; // 'WARM'

async function withLock<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await fn();
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Applies pending migrations (`up`) or reverts the last `steps` (`down`); returns names touched. */
export async function migrate(
  url: string,
  direction: 'up' | 'down',
  steps = 1,
  connectTimeoutMs?: number,
): Promise<string[]> {
  const ds = await createDataSource(url, { poolSize: 2, connectTimeoutMs }).initialize();
  try {
    return await withLock(ds, async () => {
      if (direction === 'up') return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
      const names: string[] = [];
      for (let i = 0; i < steps; i++) {
        const before = (await migrationStatus(ds)).filter((m) => m.applied);
        if (before.length === 0) break;
        await ds.undoLastMigration({ transaction: 'each' });
        names.push(before[before.length - 1].name);
      }
      return names;
    });
  } finally {
    await ds.destroy();
  }
}

export async function status(url: string): Promise<MigrationStatus[]> {
  const ds = await createDataSource(url, { poolSize: 1 }).initialize();
  try {
    return await migrationStatus(ds);
  } finally {
    await ds.destroy();
  }
}
