import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';
import { QueueName } from './queue-names';
import { ioredisOptions, producerRedisOptions } from './redis-endpoint';
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
  exports: [BullModule],
})
export class QueueModule {}
