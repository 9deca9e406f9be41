import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { WardenMetrics } from '../platform/metrics';
import { QueueName } from '../platform/queue';
import type { AuditEvent } from './audit-event';
import { AuditEventRepository } from './audit-event.repository';
import { eventsOf } from './audit.jobs';
import { BatchingWorker } from './batching-worker';

/** Moves audit events from the queue into the chain, through the shared {@link BatchingWorker}. */
@Injectable()
export class AuditProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  readonly worker: BatchingWorker<AuditEvent>;

  constructor(
    private readonly events: AuditEventRepository,
    private readonly metrics: WardenMetrics,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
  ) {
    this.worker = new BatchingWorker<AuditEvent>(
      {
        queue: QueueName.Audit,
        what: 'audit',
        itemsOf: eventsOf,
        commit: (batch) => this.commit(batch),
        describe: (e) => `audit event ${e.id} (${e.type})`,
      },
      infra.redis,
      config.queue,
      { size: config.audit.batchSize, flushMs: config.audit.flushMs },
    );
  }

  onApplicationBootstrap(): void {
    this.worker.start();
  }

  /** Before the database pool closes (onApplicationShutdown): lets in-flight batches commit. */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }

  private async commit(batch: AuditEvent[]): Promise<void> {
    const stored = await this.events.append(batch);
    this.metrics.auditCommitted.inc(stored);
    this.metrics.auditBatchSize.observe(batch.length);
  }
}
