import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import {
  closeWorker,
  keepWorkerConnected,
  QueueName,
  RedisEndpoint,
  workerOptions,
  WorkerTuning,
} from '../platform/queue';
import type { Redis } from 'ioredis';
import { claimForCommit } from './job-claims';
import { MicroBatcher } from './micro-batcher';

/** What a queue of batched records tells the skeleton: how to read its jobs and store their items. */
export interface BatchingQueue<T> {
  queue: QueueName;
  /** For log lines: 'audit', 'usage'. */
  what: string;
  /** The items a job carries, in order (decodes the queue's typed job catalogue; throws for an unknown name). */
  itemsOf(job: Job): T[];
  /** Stores a batch in one transaction, idempotently (ids already stored are skipped). */
  commit(items: T[]): Promise<void>;
  /** Names an item in the message of a refused one: `audit event <id> (<type>)`. */
  describe(item: T): string;
}

export interface BatchingLimits {
  /** Items per commit: a batch takes whole jobs until it holds this many or more. */
  size: number;
  /** How long the first item waits for company when the worker is idle. */
  flushMs: number;
}

/**
 * The one worker shape of the audit and usage queues: jobs (each carrying one or many items)
 * meet in a {@link MicroBatcher}, a batch is committed in one transaction, and a job completes
 * only once all its items are committed. So a worker killed mid-batch leaves its jobs locked;
 * after the lock lapses another worker runs them again, and the SQL drops the ids already
 * stored. A job whose batch failed (connection lost, database down) fails and is retried with
 * the queue's capped exponential backoff (platform/queue).
 *
 * An item the database refuses (SQLSTATE class 22: a NUL byte in a string, say) would fail
 * every batch it is retried in and hold back everything around it; then the batch is committed
 * item by item, and only the job that carries the refused item fails, unrecoverably (kept in
 * the failed set, with its reason, for an operator). The other items of its job are stored.
 *
 * The BullMQ worker is built here rather than by `@Processor`: its lock and stalled-check
 * timings come from config, and the decorator only takes constants.
 */
export class BatchingWorker<T> {
  private readonly log: Logger;
  private readonly batcher: MicroBatcher<T>;
  private worker?: Worker;
  private lastWarnAt = 0;

  constructor(
    private readonly spec: BatchingQueue<T>,
    private readonly redis: RedisEndpoint,
    private readonly tuning: WorkerTuning,
    private readonly limits: BatchingLimits,
  ) {
    this.log = new Logger(`BatchingWorker(${spec.queue})`);
    this.batcher = new MicroBatcher((batch) => this.commitBatch(batch), limits.size, limits.flushMs);
  }

  start(): void {
    this.worker = new Worker(this.spec.queue, (job: Job) => this.process(job), {
      ...workerOptions(this.redis, this.tuning),
      // Room for two batches of single-item jobs: the next one fills while the previous one
      // commits. Grouped jobs carry more per slot (at most their queue's per-job cap).
      concurrency: this.limits.size * 2,
    });
    // Without a listener an 'error' event (Redis gone for a moment) would throw; ioredis
    // reconnects by itself, so saying so is all there is to do.
    this.worker.on('error', (err) => this.warnThrottled(`${this.spec.queue} worker: ${err.message}`));
    // ...except a connect that failed outright (behind Sentinel): that one ends for good.
    keepWorkerConnected(this.worker, this.log);
    this.worker
      .run()
      .catch((err: Error) => this.log.error(`${this.spec.queue} worker stopped: ${err.message}`));
  }

  /** Lets in-flight batches commit; call before the database pool closes. */
  async close(): Promise<void> {
    // A connection closed while still connecting reports the aborted connect as an 'error' after
    // its listeners are gone: let it settle first (a second at most, when Redis is down).
    if (this.worker)
      await Promise.race([
        this.worker.waitUntilReady().catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
    await closeWorker(this.worker);
  }

  /** Completes once every item of the job is committed; fails with the first failure among them. */
  async process(job: Job): Promise<void> {
    // Its caller gave up on its add and was answered 503 (job-claims.ts): nothing to commit.
    if (
      job.id &&
      this.worker &&
      !(await claimForCommit((await this.worker.client) as unknown as Redis, this.spec.queue, job.id))
    )
      return;
    const failures = await this.batcher.add(this.spec.itemsOf(job));
    if (failures.size === 0) return;
    // A retryable failure wins over a refusal: the job must run again for the item that can
    // still be stored (the refused one then fails again, alone, and the job stops).
    const errors = [...failures.values()];
    throw errors.find((e) => !(e instanceof UnrecoverableError)) ?? errors[0];
  }

  private async commitBatch(batch: T[]): Promise<ReadonlyMap<number, unknown> | void> {
    try {
      await this.spec.commit(batch);
    } catch (err) {
      if (!refusedByDatabase(err)) {
        this.warnThrottled(
          `${this.spec.what} batch of ${batch.length} not committed, its jobs will retry: ${(err as Error).message}`,
        );
        throw err;
      }
      return this.commitEach(batch);
    }
  }

  private async commitEach(batch: T[]): Promise<Map<number, unknown>> {
    const failures = new Map<number, unknown>();
    for (const [i, item] of batch.entries()) {
      try {
        await this.spec.commit([item]);
      } catch (err) {
        if (!refusedByDatabase(err)) {
          failures.set(i, err);
          continue;
        }
        const message = `${this.spec.describe(item)} refused by PostgreSQL: ${(err as Error).message}`;
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
}

/**
 * SQLSTATE class 22 (data exception): the row itself is unacceptable, so retrying it cannot
 * help, unlike a lost connection or a serialization failure. TypeORM copies `code` from pg.
 */
export function refusedByDatabase(err: unknown): boolean {
  const code =
    (err as { code?: unknown; driverError?: { code?: unknown } }).code ??
    (err as { driverError?: { code?: unknown } }).driverError?.code;
  return typeof code === 'string' && code.startsWith('22');
}
