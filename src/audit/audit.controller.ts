import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';

import { ApiZodParam, ApiZodQuery, Roles, ZodPipe } from '../platform/http';
import { WardenError } from '../platform/errors';
import { intParam, text } from '../platform/http';
import { AUDIT_EVENT_TYPES } from './audit-event';
import { AuditEventRepository } from './audit-event.repository';

const eventsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  type: z.enum(AUDIT_EVENT_TYPES).optional(),
  principal: text(256).min(1).optional(),
  subject: text(512).min(1).optional(),
  decision: z.enum(['allowed', 'denied', 'would-deny', 'interrupted']).optional(),
  after: intParam(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('keyset cursor (ascending): the nextCursor of the previous page'),
  before: intParam(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('keyset cursor (descending): the nextCursor of the previous page'),
  order: z.enum(['asc', 'desc']).default('asc').describe('desc lists the newest first'),
  limit: intParam(1, 1000).default(100),
});

const seqParam = intParam(1, Number.MAX_SAFE_INTEGER);

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

  @Get('events/:seq')
  @ApiOperation({ summary: 'One audit row by its position in the chain (a deep link of the console)' })
  @ApiZodParam('seq', seqParam, 'position in the chain')
  async one(@Param('seq', new ZodPipe(seqParam, 'param')) seq: number) {
    const row = await this.events.get(seq);
    if (!row) throw new WardenError('AUDIT_EVENT_NOT_FOUND', `no audit row at seq ${seq}`, { seq });
    return row;
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the hash chain; names the first broken row' })
  verify() {
    return this.events.verify();
  }
}
