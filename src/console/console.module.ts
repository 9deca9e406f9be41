import { Module } from '@nestjs/common';
import { FleetModule } from '../fleet';
import { ConsoleController } from './console.controller';
import { ContainerHistoryRepository } from './container-history.repository';
import { ContainerMetrics } from './container-metrics';
import { OverviewRepository } from './overview.repository';
import { QueueBacklogs } from './queue-backlog';
import { UsageBreakdownRepository } from './usage-breakdown.repository';

/** The review console's read API: aggregates over the trail, policy and runtime records. */
@Module({
  imports: [FleetModule],
  providers: [
    OverviewRepository,
    QueueBacklogs,
    ContainerHistoryRepository,
    UsageBreakdownRepository,
    ContainerMetrics,
  ],
  controllers: [ConsoleController],
})
export class ConsoleModule {}
