import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodQuery, Roles, ZodPipe } from '../platform/http';
import { intParam, text } from '../platform/http';
import { UsageSampleRepository } from './usage-sample.repository';

const rollupQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe('hours overlapping [from, to)'),
  to: z.iso.datetime({ offset: true }).optional(),
  label: text(1024).min(1).optional().describe('key or key=value'),
  limit: intParam(1, 10000).default(1000),
});

/** Showback: usage per hour per container label, from the samples the workers stored. */
@ApiTags('usage')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('usage')
export class UsageController {
  constructor(private readonly samples: UsageSampleRepository) {}

  @Get()
  @ApiOperation({
    summary:
      'Hourly usage per label: CPU seconds, working-set byte-seconds (working set = usage − inactive_file), peaks, throttling, OOM kills',
  })
  @ApiZodQuery(rollupQuery)
  async rollups(@Query(new ZodPipe(rollupQuery, 'query')) q: z.infer<typeof rollupQuery>) {
    const rollups = await this.samples.hourly({
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      label: q.label,
      limit: q.limit,
    });
    return { rollups };
  }
}
