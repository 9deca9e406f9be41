import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenMetrics } from '../platform/metrics';
import { QueueName } from '../platform/queue';
import type { AuditEvent } from './audit-event';
import { AuditEventRepository } from './audit-event.repository';
import { AuditJob, AuditJobName } from './audit.jobs';
import { MicroBatcher } from './micro-batcher';

/**
 * Moves audit events from the queue into the chain. The worker runs as many jobs at once as
 * a batch holds; they meet in the batcher and commit in one transaction.
 */
@Processor(QueueName.Audit)
export class AuditProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly batcher: MicroBatcher<AuditEvent>;

  constructor(
    private readonly events: AuditEventRepository,
    private readonly metrics: WardenMetrics,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {
    super();
    this.batcher = new MicroBatcher(
      async (batch) => {
        const stored = await this.events.append(batch);
        this.metrics.auditCommitted.inc(stored);
        this.metrics.auditBatchSize.observe(batch.length);
      },
      config.audit.batchSize,
      config.audit.flushMs,
    );
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.audit.batchSize;
  }

  async process(job: Job): Promise<void> {
    const j = { name: job.name, data: job.data } as AuditJob;
    switch (j.name) {
      case AuditJobName.Event:
        return this.batcher.add(j.data);
      default:
        throw new Error(`unknown audit job ${String(job.name)}`);
    }
  }
}
