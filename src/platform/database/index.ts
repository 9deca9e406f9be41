export { DatabaseModule, PG_POOL } from './database.module';
export { createDataSource, migrationStatus } from './data-source';
export type { MigrationStatus } from './data-source';
export { startEmbeddedPostgres, embeddedPostgresBinDir } from './embedded-postgres';
export type { EmbeddedPostgresHandle } from './embedded-postgres';
export { migrate, status as migrationStatusOf } from './migrate';
export { createPgPool, poolOf, CONNECT_TIMEOUT_MS } from './pg-pool';
export { PlainSql } from './sql';
