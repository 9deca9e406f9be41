export { DatabaseModule } from './database.module';
export { createDataSource, migrationStatus } from './data-source';
export type { MigrationStatus } from './data-source';
export { startEmbeddedPostgres, embeddedPostgresBinDir } from './embedded-postgres';
export type { EmbeddedPostgresHandle } from './embedded-postgres';
export { migrate, status as migrationStatusOf } from './migrate';
export { PlainSql } from './sql';
