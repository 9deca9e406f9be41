import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { WardenMetrics } from '../platform/metrics';
import { QueueName, workerOptions } from '../platform/queue';
import type { AuditEvent } from './audit-event';
import { AuditEventRepository } from './audit-event.repository';
import { AuditJob, AuditJobName } from './audit.jobs';
import { MicroBatcher } from './micro-batcher';

/**
 * Moves audit events from the queue into the chain. Jobs meet in the batcher and commit in
 * one transaction; a job completes only when its batch is committed, so a worker killed
 * mid-batch leaves its jobs locked, and after the lock lapses another worker runs them again
 * (the repository drops ids already stored).
 *
 * The worker is built here rather than by `@Processor`: its lock and stalled-check timings
 * come from config, and the decorator only takes constants.
 */
@Injectable()
export class AuditProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(AuditProcessor.name);
  private readonly batcher: MicroBatcher<AuditEvent>;
  private worker?: Worker;
  private lastWarnAt = 0;

  constructor(
    private readonly events: AuditEventRepository,
    private readonly metrics: WardenMetrics,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
  ) {
    this.batcher = new MicroBatcher(
      async (batch) => {
        try {
          await this.commit(batch);
        } catch (err) {
          if (!refusedByDatabase(err)) {
            this.warnThrottled(
              `audit batch of ${batch.length} not committed, its jobs will retry: ${(err as Error).message}`,
            );
            throw err;
          }
          // An event the database refuses (a NUL byte in a string, say) would fail every batch
          // it is retried in, holding back the events around it for as long as it has
          // attempts. Commit one by one, and fail only the refused one, without retries.
          return this.commitEach(batch);
        }
      },
      config.audit.batchSize,
      config.audit.flushMs,
    );
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker(QueueName.Audit, (job: Job) => this.process(job), {
      ...workerOptions(this.infra.redis, this.config.queue),
      // Room for two batches: the next one fills while the previous one commits.
      concurrency: this.config.audit.batchSize * 2,
    });
    // Without a listener an 'error' event (Redis gone for a moment) would throw; ioredis
    // reconnects by itself, so saying so is all there is to do.
    this.worker.on('error', (err) => this.warnThrottled(`audit worker: ${err.message}`));
    this.worker.run().catch((err: Error) => this.log.error(`audit worker stopped: ${err.message}`));
  }

  private async commit(batch: AuditEvent[]): Promise<void> {
    const stored = await this.events.append(batch);
    this.metrics.auditCommitted.inc(stored);
    this.metrics.auditBatchSize.observe(batch.length);
  }

  private async commitEach(batch: AuditEvent[]): Promise<Map<number, unknown>> {
    const failures = new Map<number, unknown>();
    for (const [i, event] of batch.entries()) {
      try {
        await this.commit([event]);
      } catch (err) {
        if (!refusedByDatabase(err)) {
          failures.set(i, err);
          continue;
        }
        // Kept in the failed set (removeOnFail is off) with this reason, for an operator.
        const message = `audit event ${event.id} (${event.type}) refused by PostgreSQL: ${(err as Error).message}`;
        this.log.error(message);
        failures.set(i, new UnrecoverableError(message));
      }
    }
    return failures;
  }

  /** During an outage every batch fails: one line every few seconds says so without flooding the log. */
  private warnThrottled(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 5000) return;
    this.lastWarnAt = now;
    this.log.warn(message);
  }

  /** Before the database pool closes (onApplicationShutdown): lets in-flight batches commit. */
  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
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

/**
 * SQLSTATE class 22 (data exception): the row itself is unacceptable, so retrying it cannot
 * help, unlike a lost connection or a serialization failure. TypeORM copies `code` from pg.
 */
function refusedByDatabase(err: unknown): boolean {
  const code =
    (err as { code?: unknown; driverError?: { code?: unknown } }).code ??
    (err as { driverError?: { code?: unknown } }).driverError?.code;
  return typeof code === 'string' && code.startsWith('22');
}
