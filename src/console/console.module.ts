import { Module } from '@nestjs/common';
import { ConsoleController } from './console.controller';
import { OverviewRepository } from './overview.repository';
import { QueueBacklogs } from './queue-backlog';

/** The review console's read API: aggregates over the trail, policy and runtime records. */
@Module({
  providers: [OverviewRepository, QueueBacklogs],
  controllers: [ConsoleController],
})
export class ConsoleModule {}
