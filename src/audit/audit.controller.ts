import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';

import { ApiZodQuery, Roles, ZodPipe } from '../platform/http';
import { intParam, text } from '../platform/http';
import { AUDIT_EVENT_TYPES } from './audit-event';
import { AuditEventRepository } from './audit-event.repository';

const eventsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  type: z.enum(AUDIT_EVENT_TYPES).optional(),
  principal: text(256).min(1).optional(),
  subject: text(512).min(1).optional(),
  decision: z.enum(['allowed', 'denied', 'would-deny']).optional(),
  after: intParam(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('keyset cursor (ascending): the nextCursor of the previous page'),
  before: intParam(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('keyset cursor (descending): the nextCursor of the previous page'),
  order: z.enum(['asc', 'desc']).default('asc').describe('desc lists the newest first'),
  limit: intParam(1, 1000).default(100),
});

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('audit')
export class AuditController {
  constructor(private readonly events: AuditEventRepository) {}

  @Get('events')
  @ApiOperation({
    summary:
      'Audit events in chain order (or newest first), filtered; page with ?after= (or ?before= with order=desc) <nextCursor>',
  })
  @ApiZodQuery(eventsQuery)
  async list(@Query(new ZodPipe(eventsQuery, 'query')) q: z.infer<typeof eventsQuery>) {
    const events = await this.events.list({
      ...q,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    });
    return { events, nextCursor: events.length === q.limit ? events[events.length - 1].seq : null };
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the hash chain; names the first broken row' })
  verify() {
    return this.events.verify();
  }
}
