import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, ApiZodQuery, CurrentCaller, Roles, text, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { VolumesService } from './volumes.service';

const volumeName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$/, 'must be [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255');
const nameParam = new ZodPipe(volumeName, 'param');
const ApiName = () => ApiZodParam('name', volumeName, 'volume name');

const createBody = z.strictObject({
  name: volumeName.optional().describe('default: 64 random hex digits'),
  driver: text(64).optional().describe('only local is available'),
  options: z.record(text(64), text(4096)).optional().describe('driver options; local takes size (e.g. 64m)'),
  labels: z.record(text(1024), text(65_536)).optional(),
  team: text(128)
    .min(1)
    .optional()
    .describe("the team to own it, one of the caller's; default its first team (see docs/security.md)"),
});
const listQuery = z.object({
  name: text(255).optional().describe('part of the name'),
  label: text(1024).optional().describe('key or key=value'),
  dangling: z.stringbool().optional().describe('true: only volumes no container mounts'),
});
const removeQuery = z.object({
  force: z.stringbool().optional().describe('no error when it does not exist'),
});
const pruneQuery = z.object({
  all: z.stringbool().optional().describe('named volumes too, not only anonymous'),
});

/** Volumes over REST: the same service as the Docker socket's `/volumes`. */
@ApiTags('volumes')
@ApiBearerAuth()
@Controller('volumes')
export class VolumesController {
  constructor(private readonly volumes: VolumesService) {}

  @Post()
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Create a volume (its driver and options judged by policy; audited)' })
  @ApiZodBody(createBody)
  create(@CurrentCaller() caller: Caller, @Body(new ZodPipe(createBody)) body: z.infer<typeof createBody>) {
    return this.volumes.create(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'List volumes' })
  @ApiZodQuery(listQuery)
  list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(listQuery, 'query')) q: z.infer<typeof listQuery>,
  ) {
    const [k, v] = q.label?.split('=', 2) ?? [];
    return this.volumes.list(caller, {
      names: q.name ? [q.name] : undefined,
      labels: k ? [[k, v]] : undefined,
      dangling: q.dangling,
    });
  }

  @Get(':name')
  @ApiName()
  @ApiOperation({ summary: 'Inspect a volume, with its usage (bytes) and how many containers mount it' })
  async inspect(@CurrentCaller() caller: Caller, @Param('name', nameParam) name: string) {
    const v = await this.volumes.get(caller, name);
    return { ...v, usage: await this.volumes.usage(name) };
  }

  @Delete(':name')
  @ApiName()
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Remove a volume; 409 while a container mounts it' })
  @ApiZodQuery(removeQuery)
  async remove(
    @CurrentCaller() caller: Caller,
    @Param('name', nameParam) name: string,
    @Query(new ZodPipe(removeQuery, 'query')) q: z.infer<typeof removeQuery>,
  ) {
    await this.volumes.remove(caller, name, { force: q.force });
  }

  @Post('prune')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Remove unused anonymous volumes (all unused ones with all=true)' })
  @ApiZodQuery(pruneQuery)
  prune(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(pruneQuery, 'query')) q: z.infer<typeof pruneQuery>,
  ) {
    return this.volumes.prune(caller, { all: q.all });
  }
}
