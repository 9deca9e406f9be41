import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { csvTable } from '../audit';
import { NodeLiveness } from '../fleet';
import { ApiZodQuery, CurrentCaller, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { scopeOf } from '../platform/scope';
import { ContainerHistoryRepository } from './container-history.repository';
import { containersQuery, overviewQuery, resolveWindow, usageQuery } from './console.schemas';
import {
  groupKey,
  groupUsage,
  RIGHT_SIZING_SHARE,
  UsageBreakdownRepository,
} from './usage-breakdown.repository';
import { OverviewRepository } from './overview.repository';
import { QueueBacklogs } from './queue-backlog';

/**
 * Read-only views across modules for the review console (/ui). Admins and auditors see
 * everything; a deployer's containers, usage and overview are its teams' (platform/scope).
 */
@ApiTags('console')
@ApiBearerAuth()
@Controller('console')
export class ConsoleController {
  constructor(
    private readonly overviews: OverviewRepository,
    private readonly backlogs: QueueBacklogs,
    private readonly history: ContainerHistoryRepository,
    private readonly usage: UsageBreakdownRepository,
    private readonly liveness: NodeLiveness,
  ) {}

  @Get('usage')
  @ApiOperation({
    summary: 'Usage per team, image or label over a window (default: the last 7 days), with right-sizing',
    description: `CPU-seconds, peak memory against the cap, OOM kills, block I/O bytes read and written (null for a container whose host recorded none), the most its volumes held (null: no volume measured); a container is oversized when its peak stayed under ${RIGHT_SIZING_SHARE * 100}% of its memory cap. format=csv gives one row per container.`,
  })
  @ApiZodQuery(usageQuery)
  async usageBreakdown(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(usageQuery, 'query')) q: z.infer<typeof usageQuery>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * 86_400_000);
    const containers = await this.usage.containers(from, to, scopeOf(caller.principal));
    const groups = groupUsage(containers, q.by);
    if (q.format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="usage-by-${q.by.replace(/[^\w.-]/g, '_')}.csv"`,
      );
      return csvTable(
        [
          q.by,
          'container_id',
          'name',
          'image',
          'cpu_seconds',
          'memory_peak_bytes',
          'memory_cap_bytes',
          'cap_share',
          'oversized',
          'oom_kills',
          'io_read_bytes',
          'io_write_bytes',
          'volume_bytes',
        ],
        containers.map((c) => [
          groupKey(c, q.by),
          c.containerId,
          c.name,
          c.image,
          c.cpuSeconds,
          c.memoryPeakBytes,
          c.memoryCapBytes,
          c.capShare,
          c.oversized,
          c.oomKills,
          c.ioReadBytes,
          c.ioWriteBytes,
          c.volumeBytes,
        ]),
      );
    }
    return {
      window: { from: from.toISOString(), to: to.toISOString() },
      by: q.by,
      groups,
      containers: containers.slice(0, 1000),
    };
  }

  @Get('containers')
  @ApiOperation({
    summary: 'Containers, newest first, including removed ones (rebuilt from the audit trail)',
  })
  @ApiZodQuery(containersQuery)
  async containers(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(containersQuery, 'query')) q: z.infer<typeof containersQuery>,
  ) {
    const rows = await this.history.list({ ...q, scope: scopeOf(caller.principal) });
    const down = await this.liveness.down(rows.flatMap((r) => (r.node ? [r.node] : [])));
    return {
      containers: rows.map((r) =>
        r.node && r.state !== 'unknown' && this.liveness.shown(r.state, r.node, down) === 'unknown'
          ? { ...r, state: 'unknown' as const, recordedState: r.state }
          : r,
      ),
    };
  }

  @Get('overview')
  @ApiOperation({
    summary: 'The landing dashboard for a window (default: the last 24 hours)',
    description:
      "Decisions over time (allowed / denied / would-deny), the most-hit deny rules, the teams and images with most denials, OOM kills and restarts, exceptions expiring soon, the chain head and each queue backlog. A deployer's overview is its teams' decisions, containers and exceptions, without the chain head and the queues (chainHead null, queues empty). Bars a day wide start at UTC midnight and bars of whole hours on the hour (the first starts at from, the last ends at to); decisions are counted from daily and hourly rollups for whole days and hours and from the trail for the window's partial first and last hours, with the same result.",
  })
  @ApiZodQuery(overviewQuery)
  async overview(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(overviewQuery, 'query')) q: z.infer<typeof overviewQuery>,
  ) {
    const window = resolveWindow(q);
    const expiring = new Date(Date.now() + q.expiringDays * 86_400_000);
    const scope = scopeOf(caller.principal);
    const [overview, queues] = await Promise.all([
      this.overviews.overview(window, expiring, scope),
      scope.all ? this.backlogs.all() : Promise.resolve([]),
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
