import { BullModule, InjectQueue } from '@nestjs/bullmq';
import { Global, Injectable, Logger, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';
import { ChangeBus } from './change-bus';
import { keepConnected } from './keep-connected';
import { QueueName } from './queue-names';
import { ioredisOptions, producerRedisOptions } from './redis-endpoint';
import { ReplicaWait } from './replica-wait';
import { CAPPED_EXPONENTIAL, QUEUE_PREFIX } from './worker-options';

/**
 * Audit events and usage samples must not be lost: retried for a long while (PostgreSQL may be
 * down for a maintenance window); completed jobs are dropped since the row is the record.
 * Backoff doubles from 200 ms to a 10 s ceiling, so 10,000 attempts keep an event waiting
 * through about a day of outage, and it lands within 10 s of the database's return. Past that
 * it stays in the failed set (never removed) for an operator.
 */
const DURABLE_JOB_OPTIONS = {
  attempts: 10_000,
  backoff: { type: CAPPED_EXPONENTIAL, delay: 200 },
  removeOnComplete: true,
  removeOnFail: false,
};

/**
 * A queue re-emits its Redis connection's errors ('Connection is closed' while Redis restarts
 * or the service stops); an EventEmitter 'error' nobody listens to throws. What callers need
 * to know reaches them through the failed add (503); this only logs.
 */
@Injectable()
class QueueErrorLog implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('queue');
  private last = 0;

  constructor(
    @InjectQueue(QueueName.Audit) private readonly audit: Queue,
    @InjectQueue(QueueName.Usage) private readonly usage: Queue,
    @InjectQueue(QueueName.Reports) private readonly reports: Queue,
  ) {}

  private stopping = false;

  onModuleInit(): void {
    for (const q of [this.audit, this.usage, this.reports]) {
      q.on('error', (err) => {
        // One line a second at most: a Redis outage repeats the same error on every retry.
        if (Date.now() - this.last < 1000) return;
        this.last = Date.now();
        this.log.warn(`queue ${q.name}: ${err.message}`);
      });
      // Reconnected when ioredis ends it unasked (a failed connect behind Sentinel).
      void q.client
        .then((client) => keepConnected(q, client, this.log, () => this.stopping))
        .catch(() => undefined);
    }
  }

  /**
   * Before the queues close: a connection still connecting when its queue closes loses its
   * listeners first and then reports the aborted connect as an 'error' nobody hears (a Warden
   * stopped right after it started). Waits for them to settle, a second at most (Redis down).
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    const settled = Promise.allSettled([this.audit, this.usage, this.reports].map((q) => q.waitUntilReady()));
    await Promise.race([settled, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/**
 * BullMQ on Warden's Redis. Queues are registered here for every role (the API enqueues);
 * processors are registered only by the worker role's modules.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [INFRASTRUCTURE],
      useFactory: (infra: Infrastructure) => ({
        connection: ioredisOptions(infra.redis),
        prefix: QUEUE_PREFIX,
      }),
    }),
    // The queues requests enqueue on fail fast while Redis is down (producerRedisOptions): a
    // launch answers 503 within a second instead of waiting for the reconnection. Their workers
    // are built apart (workerOptions) with connections that may wait.
    BullModule.registerQueueAsync({
      name: QueueName.Audit,
      inject: [INFRASTRUCTURE],
      useFactory: (infra: Infrastructure) => ({
        connection: producerRedisOptions(infra.redis),
        defaultJobOptions: DURABLE_JOB_OPTIONS,
      }),
    }),
    BullModule.registerQueueAsync({
      name: QueueName.Usage,
      inject: [INFRASTRUCTURE],
      useFactory: (infra: Infrastructure) => ({
        connection: producerRedisOptions(infra.redis),
        // Usage is what showback bills on: the same patience as audit events through an outage.
        defaultJobOptions: DURABLE_JOB_OPTIONS,
      }),
    }),
    // Reports keep their own status row; the job only carries the id (attempts set per job).
    BullModule.registerQueue({
      name: QueueName.Reports,
      defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 },
    }),
  ],
  providers: [QueueErrorLog, ReplicaWait, ChangeBus],
  exports: [BullModule, ReplicaWait, ChangeBus],
})
export class QueueModule {}
