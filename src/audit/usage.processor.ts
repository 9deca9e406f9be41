import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { QueueName, workerOptions } from '../platform/queue';
import { MicroBatcher } from './micro-batcher';
import type { UsageSample } from './usage-sample';
import { UsageSampleRepository } from './usage-sample.repository';
import { UsageJob, UsageJobName } from './usage.jobs';

/**
 * Moves usage samples from the queue into usage_samples, batched like audit events: a job
 * completes only when its batch is committed, and a re-run job is dropped by the primary key.
 * Unlike the audit chain there is no order to keep, so batches need no lock. Rollups are a
 * view over the samples (see the migration), so nothing else is written here.
 */
@Injectable()
export class UsageProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(UsageProcessor.name);
  private readonly batcher: MicroBatcher<UsageSample>;
  private worker?: Worker;
  private lastWarnAt = 0;

  constructor(
    private readonly samples: UsageSampleRepository,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
  ) {
    this.batcher = new MicroBatcher(
      async (batch) => {
        try {
          await this.samples.insert(batch);
        } catch (err) {
          this.warnThrottled(
            `usage batch of ${batch.length} not stored, its jobs will retry: ${(err as Error).message}`,
          );
          throw err;
        }
      },
      config.audit.batchSize,
      config.audit.flushMs,
    );
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker(QueueName.Usage, (job: Job) => this.process(job), {
      ...workerOptions(this.infra.redis, this.config.queue),
      concurrency: this.config.audit.batchSize * 2,
    });
    // ioredis reconnects by itself; without a listener an 'error' event would throw.
    this.worker.on('error', (err) => this.warnThrottled(`usage worker: ${err.message}`));
    this.worker.run().catch((err: Error) => this.log.error(`usage worker stopped: ${err.message}`));
  }

  /** Before the database pool closes: lets in-flight batches commit. */
  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
  }

  async process(job: Job): Promise<void> {
    const j = { name: job.name, data: job.data } as UsageJob;
    switch (j.name) {
      case UsageJobName.Sample:
        return this.batcher.add(j.data);
      default:
        throw new Error(`unknown usage job ${String(job.name)}`);
    }
  }

  private warnThrottled(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 5000) return;
    this.lastWarnAt = now;
    this.log.warn(message);
  }
}
