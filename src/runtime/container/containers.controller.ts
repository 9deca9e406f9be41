import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { launchRequestSchema } from '../../policy';
import { ApiZodBody, ApiZodQuery, CurrentCaller, Roles, ZodPipe } from '../../platform/http';
import type { Caller } from '../../platform/http';
import { ContainerInspector } from './container-inspector';
import { ContainerService } from './container.service';
import { ExecService } from '../lifecycle/exec';

const createBody = launchRequestSchema.extend({
  name: z.string().optional().describe('container name; default warden_<id prefix>'),
  autoRemove: z.boolean().optional().describe('remove the container when it exits'),
  openStdin: z.boolean().optional(),
  hostname: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/)
    .optional(),
});

const listQuery = z.object({
  all: z.stringbool().optional().describe('include containers that are not running'),
  label: z.string().optional().describe('key or key=value'),
  name: z.string().optional(),
  state: z.enum(['created', 'running', 'exited', 'dead']).optional(),
});

const stopQuery = z.object({
  t: z.coerce.number().int().min(0).max(3600).optional().describe('grace seconds before SIGKILL'),
});
const killQuery = z.object({
  signal: z
    .string()
    .regex(/^(SIG)?[A-Z0-9]+$|^\d+$/i)
    .optional()
    .describe('signal name or number; default SIGKILL'),
});
const waitQuery = z.object({ condition: z.enum(['not-running', 'next-exit', 'removed']).optional() });
const logsQuery = z.object({
  tail: z.union([z.literal('all'), z.coerce.number().int().min(0)]).optional(),
  since: z.string().optional().describe('RFC 3339 time or unix seconds'),
  stdout: z.stringbool().optional(),
  stderr: z.stringbool().optional(),
});
const execBody = z.strictObject({
  cmd: z.array(z.string()).min(1, 'must name a command'),
  env: z.array(z.string().regex(/^[^=]+=/, 'must be KEY=VALUE')).optional(),
  user: z.string().optional(),
  workingDir: z.string().optional(),
});

@ApiTags('containers')
@ApiBearerAuth()
@Controller('containers')
export class ContainersController {
  constructor(
    private readonly containers: ContainerService,
    private readonly inspector: ContainerInspector,
    private readonly execs: ExecService,
  ) {}

  @Post()
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Create a container (policy-checked and audited before anything is created)' })
  @ApiZodBody(createBody)
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(z.record(z.string(), z.unknown(), { error: 'must be a JSON object' })))
    body: Record<string, unknown>,
  ) {
    const { name, autoRemove, openStdin, hostname, ...launch } = body as z.infer<typeof createBody>;
    const c = await this.containers.create(caller, { name, autoRemove, openStdin, hostname, launch });
    return this.inspector.view(c);
  }

  @Get()
  @ApiOperation({ summary: 'List containers (running only unless all=true)' })
  @ApiZodQuery(listQuery)
  async list(@Query(new ZodPipe(listQuery, 'query')) q: z.infer<typeof listQuery>) {
    const [k, v] = q.label?.split('=', 2) ?? [];
    const rows = await this.containers.list({
      all: q.all,
      states: q.state ? [q.state] : undefined,
      name: q.name,
      labels: k ? { [k]: v } : undefined,
    });
    return rows.map((c) => this.inspector.view(c));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Inspect a container' })
  async inspect(@Param('id') id: string) {
    return this.inspector.view(await this.containers.resolve(id));
  }

  @Post(':id/start')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Start a container; 304 when running, 409 in a state it cannot start from' })
  async start(@CurrentCaller() caller: Caller, @Param('id') id: string) {
    return this.inspector.view(await this.containers.start(caller, id));
  }

  @Post(':id/stop')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Stop: SIGTERM, then SIGKILL after t seconds (default 10)' })
  @ApiZodQuery(stopQuery)
  async stop(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Query(new ZodPipe(stopQuery, 'query')) q: z.infer<typeof stopQuery>,
  ) {
    return this.inspector.view(await this.containers.stop(caller, id, q.t));
  }

  @Post(':id/kill')
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary:
      'Send a signal (default SIGKILL, answered once the process is gone and its exit recorded); 409 unless running',
  })
  @ApiZodQuery(killQuery)
  async kill(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Query(new ZodPipe(killQuery, 'query')) q: z.infer<typeof killQuery>,
  ) {
    await this.containers.kill(caller, id, this.inspector.signalName(q.signal));
  }

  @Post(':id/restart')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Stop (if running) and start again' })
  @ApiZodQuery(stopQuery)
  async restart(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Query(new ZodPipe(stopQuery, 'query')) q: z.infer<typeof stopQuery>,
  ) {
    return this.inspector.view(await this.containers.restart(caller, id, q.t));
  }

  @Post(':id/wait')
  @HttpCode(200)
  @ApiOperation({ summary: 'Block until the condition holds; answers the exit code' })
  @ApiZodQuery(waitQuery)
  async wait(@Param('id') id: string, @Query(new ZodPipe(waitQuery, 'query')) q: z.infer<typeof waitQuery>) {
    const exit = await this.containers.waitExit(id, q.condition);
    return { statusCode: exit.exitCode, oomKilled: exit.oomKilled };
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary:
      'Remove a container (force=true kills it first); done when it answers; 409 while running without force',
  })
  async remove(@CurrentCaller() caller: Caller, @Param('id') id: string, @Query('force') force?: string) {
    await this.containers.remove(caller, id, { force: force === 'true' || force === '1' });
  }

  @Get(':id/logs')
  @ApiOperation({ summary: 'Logs as JSON lines {time, stream, log}' })
  @ApiZodQuery(logsQuery)
  async logs(
    @Param('id') id: string,
    @Query(new ZodPipe(logsQuery, 'query')) q: z.infer<typeof logsQuery>,
    @Res() res: Response,
  ) {
    const entries = await this.inspector.logs(id, q);
    res
      .type('application/x-ndjson')
      .send(entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''));
  }

  @Get(':id/stats')
  @ApiOperation({
    summary: 'cgroup usage: CPU, memory (current, peak, working set), pids, throttling, OOM kills',
  })
  async stats(@Param('id') id: string) {
    return this.inspector.stats(id);
  }

  @Get(':id/top')
  @ApiOperation({ summary: 'Processes in the container' })
  async top(@Param('id') id: string) {
    return this.inspector.top(id);
  }

  @Post(':id/exec')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Run a command in the running container; answers its exit code and output' })
  @ApiZodBody(execBody)
  async exec(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Body(new ZodPipe(execBody)) body: z.infer<typeof execBody>,
  ) {
    return this.execs.run(caller, id, body);
  }
}
