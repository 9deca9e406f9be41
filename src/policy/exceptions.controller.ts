import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodQuery, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { ExceptionService, view } from './exception.service';
import { exceptionBody, exceptionsQuery } from './policy.schemas';

@ApiTags('policy')
@ApiBearerAuth()
@Controller('exceptions')
export class ExceptionsController {
  constructor(private readonly exceptions: ExceptionService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Grant an exception to one rule for a principal or team and an image, until it expires (admin)',
    description: 'The calling admin is the approver and must not be the requester.',
  })
  @ApiZodBody(exceptionBody)
  async create(
    @CurrentCaller() by: Caller,
    @Body(new ZodPipe(exceptionBody)) body: z.infer<typeof exceptionBody>,
  ) {
    return view(await this.exceptions.create(by, body));
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'List exceptions, oldest first (admin, auditor)' })
  @ApiZodQuery(exceptionsQuery)
  async list(@Query(new ZodPipe(exceptionsQuery, 'query')) q: z.infer<typeof exceptionsQuery>) {
    return (await this.exceptions.list({ live: q.live })).map(view);
  }
}
