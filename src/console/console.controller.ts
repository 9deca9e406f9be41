import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodQuery, Roles, ZodPipe } from '../platform/http';
import { ContainerHistoryRepository } from './container-history.repository';
import { containersQuery, overviewQuery, resolveWindow } from './console.schemas';
import { OverviewRepository } from './overview.repository';
import { QueueBacklogs } from './queue-backlog';

/** Read-only views across modules for the review console (/ui); admins and auditors. */
@ApiTags('console')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('console')
export class ConsoleController {
  constructor(
    private readonly overviews: OverviewRepository,
    private readonly backlogs: QueueBacklogs,
    private readonly history: ContainerHistoryRepository,
  ) {}

  @Get('containers')
  @ApiOperation({
    summary: 'Containers, newest first, including removed ones (rebuilt from the audit trail)',
  })
  @ApiZodQuery(containersQuery)
  async containers(@Query(new ZodPipe(containersQuery, 'query')) q: z.infer<typeof containersQuery>) {
    return { containers: await this.history.list(q) };
  }

  @Get('overview')
  @ApiOperation({
    summary: 'The landing dashboard for a window (default: the last 24 hours)',
    description:
      'Decisions over time (allowed / denied / would-deny), the most-hit deny rules, the teams and images with most denials, OOM kills and restarts, exceptions expiring soon, the chain head and each queue backlog.',
  })
  @ApiZodQuery(overviewQuery)
  async overview(@Query(new ZodPipe(overviewQuery, 'query')) q: z.infer<typeof overviewQuery>) {
    const window = resolveWindow(q);
    const expiring = new Date(Date.now() + q.expiringDays * 86_400_000);
    const [overview, queues] = await Promise.all([
      this.overviews.overview(window, expiring),
      this.backlogs.all(),
    ]);
    return {
      window: {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        bucketSeconds: window.bucketSeconds,
      },
      ...overview,
      queues,
    };
  }
}
