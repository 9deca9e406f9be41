import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { WARDEN_CONFIG, WardenConfig } from '../config';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';
import { createDataSource } from './data-source';
import { poolOf } from './pg-pool';
import { PlainSql } from './sql';

/** The pg Pool TypeORM runs on, for plain queries: `@Inject(PG_POOL) pool: Pool` (or PlainSql). */
export const PG_POOL = Symbol('PG_POOL');

/**
 * PostgreSQL for every module, one documented way (docs/operations.md, "Database access"):
 * `DataSource` for migrations and transactions, `PG_POOL` / `PlainSql` for plain queries,
 * both on the one pool createDataSource builds.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [INFRASTRUCTURE, WARDEN_CONFIG],
      useFactory: async (infra: Infrastructure, config: WardenConfig) =>
        createDataSource(infra.databaseUrl, {
          connectTimeoutMs: config.database.connectTimeoutMs,
        }).initialize(),
    },
    { provide: PG_POOL, inject: [DataSource], useFactory: (ds: DataSource) => poolOf(ds) },
    { provide: PlainSql, inject: [PG_POOL], useFactory: (pool: Pool) => new PlainSql(pool) },
  ],
  exports: [DataSource, PG_POOL, PlainSql],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    // Ends the shared pool, too (TypeORM's destroy ends the pool it was given).
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
