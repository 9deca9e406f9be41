import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';
import { QueueName } from './queue-names';
import { ioredisOptions } from './redis-endpoint';

/**
 * BullMQ on Warden's Redis. Queues are registered here for every role (the API enqueues);
 * processors are registered only by the worker role's modules.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [INFRASTRUCTURE],
      useFactory: (infra: Infrastructure) => ({ connection: ioredisOptions(infra.redis), prefix: 'warden' }),
    }),
    BullModule.registerQueue({
      name: QueueName.Audit,
      defaultJobOptions: {
        // Audit events must not be lost: retry for a long while (Postgres may be down for a
        // maintenance window); completed jobs are dropped since the row is the record.
        attempts: 50,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: true,
        removeOnFail: false,
      },
    }),
  ],
  exports: [BullModule],
})
export class QueueModule {}
