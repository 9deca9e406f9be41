import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { UsageSampleRepository } from '../../audit';
import { WardenError } from '../../platform/errors';
import { ApiZodParam, ApiZodQuery, CurrentCaller, ZodPipe } from '../../platform/http';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { containerRef, intParam } from '../../platform/http';
import { ContainerService } from './container.service';

const usageQuery = z.object({
  limit: intParam(1, 1000).default(100).describe('newest samples to return'),
});

const FULL_ID = /^[0-9a-f]{64}$/;

/** A container's usage records: readable by whoever may inspect it (its team's, admins, auditors). */
@ApiTags('containers')
@ApiBearerAuth()
@Controller('containers')
export class ContainerUsageController {
  constructor(
    private readonly containers: ContainerService,
    private readonly samples: UsageSampleRepository,
  ) {}

  @Get(':id/usage')
  @ApiOperation({
    summary:
      'Usage samples, newest first, and the final record with totals once it exited (working set = usage − inactive_file)',
  })
  @ApiZodQuery(usageQuery)
  @ApiZodParam('id', containerRef, 'container id, unique id prefix or name')
  async usage(
    @CurrentCaller() caller: Caller,
    @Param('id', new ZodPipe(containerRef, 'param')) ref: string,
    @Query(new ZodPipe(usageQuery, 'query')) q: z.infer<typeof usageQuery>,
  ) {
    let id = ref;
    let removed = false;
    try {
      id = (await this.containers.resolve(ref, caller)).id;
    } catch (err) {
      // A removed container's row is gone but its usage stays: a full id still answers —
      // to admins and auditors, since the row that said which team owned it is gone too.
      const notFound = err instanceof WardenError && err.code === 'CONTAINER_NOT_FOUND';
      if (!notFound || !FULL_ID.test(ref) || !scopeOf(caller.principal).all) throw err;
      removed = true;
    }
    const { samples, final } = await this.samples.forContainer(id, q.limit);
    if (removed && samples.length === 0 && !final)
      throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
    return { id, samples, final };
  }
}
