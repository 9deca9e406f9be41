import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { QueueName } from '../platform/queue';
import { BatchingWorker } from './batching-worker';
import type { UsageSample } from './usage-sample';
import { UsageSampleRepository } from './usage-sample.repository';
import { samplesOf } from './usage.jobs';

/**
 * Moves usage samples from the queue into usage_samples through the shared
 * {@link BatchingWorker}, batched like audit events. Unlike the audit chain there is no order
 * to keep, so a batch needs no lock. Rollups are a view over the samples (see the migration),
 * so nothing else is written here.
 */
@Injectable()
export class UsageProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  readonly worker: BatchingWorker<UsageSample>;

  constructor(
    samples: UsageSampleRepository,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
  ) {
    this.worker = new BatchingWorker<UsageSample>(
      {
        queue: QueueName.Usage,
        what: 'usage',
        itemsOf: samplesOf,
        commit: async (batch) => void (await samples.insert(batch)),
        describe: (s) => `usage sample ${s.id} (container ${s.containerId})`,
      },
      infra.redis,
      config.queue,
      { size: config.audit.batchSize, flushMs: config.audit.flushMs },
    );
  }

  onApplicationBootstrap(): void {
    this.worker.start();
  }

  /** Before the database pool closes: lets in-flight batches commit. */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }
}
