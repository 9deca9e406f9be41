import { Module, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { FsBlobStore } from './fs-blob-store';

/** A day: no upload or pull legitimately keeps a temp file that long. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

/** The one content store under $WARDEN_DATA_DIR/store, shared by images, runtime and the /v2/ proxy. */
@Module({
  providers: [
    {
      provide: FsBlobStore,
      inject: [WARDEN_CONFIG],
      useFactory: (config: WardenConfig) => new FsBlobStore(join(config.dataDir, 'store')),
    },
  ],
  exports: [FsBlobStore],
})
export class StoresModule implements OnModuleInit {
  constructor(private readonly store: FsBlobStore) {}

  /** Temp files of writers that crashed would otherwise stay forever. */
  async onModuleInit(): Promise<void> {
    await this.store.sweepTemp(STALE_TEMP_MS);
  }
}
