import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { launchRequestSchema } from '../../policy';
import { ApiZodBody, ApiZodParam, ApiZodQuery, CurrentCaller, Roles, ZodPipe } from '../../platform/http';
import type { Caller } from '../../platform/http';
import { absolutePath, containerRef, cpusetProblem, intParam, text, userProblem } from '../../platform/http';
import { ContainerInspector } from './container-inspector';
import { ContainerService } from './container.service';
import { ExecService } from '../lifecycle/exec';
import { NetworkConnectVerb } from '../lifecycle/network-connect';
import { healthcheckFromInput, healthcheckInputSchema } from '../health/healthcheck-input';

const containerName = z
  .string()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'must be [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128');
const cpuset = z.string().superRefine((v, ctx) => {
  const problem = cpusetProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const user = z.string().superRefine((u, ctx) => {
  const problem = userProblem(u);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const networkName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'must be a network id, id prefix or name');
const endpointsSchema = z
  .record(
    networkName,
    z.strictObject({
      ipv4Address: z.ipv4().optional().describe('--ip: this address on the network'),
      aliases: z
        .array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/))
        .max(64)
        .optional(),
    }),
  )
  .describe('further networks to join and per-network settings (--ip, --network-alias), by network name');
const connectBody = z.strictObject({
  network: networkName,
  ipv4Address: z.ipv4().optional(),
  aliases: z
    .array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/))
    .max(64)
    .optional(),
});
const createBody = launchRequestSchema.extend({
  name: containerName.optional().describe('container name; default warden_<id prefix>'),
  autoRemove: z.boolean().optional().describe('remove the container when it exits'),
  volumesFrom: z
    .array(z.string().regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*(:(ro|rw))?$/, 'must be a container[:ro|rw]'))
    .max(64)
    .optional()
    .describe("containers whose volumes (and binds) this one mounts too, 'name[:ro]'"),
  openStdin: z.boolean().optional(),
  tty: z.boolean().optional().describe('a terminal (-t): attach over /containers/{id}/attach/ws, resize'),
  hostname: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/)
    .optional(),
  cpusetCpus: cpuset.optional().describe('CPUs online on this host, e.g. 0-1'),
  user: user.optional().describe('name or uid (at most 2^31-1), optionally :group or :gid'),
  endpoints: endpointsSchema.optional(),
  team: text(128)
    .min(1)
    .optional()
    .describe("the team to own it, one of the caller's; default its first team (see docs/security.md)"),
  healthcheck: healthcheckInputSchema.optional(),
  node: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be a node name (GET /nodes lists them)')
    .optional()
    .describe(
      'the node to run it on (GET /nodes); judged here, created there through its queue. Default: this node',
    ),
});

/**
 * What the edge checks of a create body before the policy sees it: the fields only Warden
 * reads, and what depends on this host (its CPUs). The launch request's own fields are
 * checked by the policy's spec (toContainerSpec), whose messages name every bad field, and
 * also before anything is recorded.
 */
const createEdge = z.looseObject(
  {
    name: containerName.optional(),
    autoRemove: z.boolean().optional(),
    openStdin: z.boolean().optional(),
    tty: z.boolean().optional(),
    hostname: createBody.shape.hostname,
    cpusetCpus: cpuset.optional(),
    user: user.optional(),
    endpoints: endpointsSchema.optional(),
    team: createBody.shape.team,
    volumesFrom: createBody.shape.volumesFrom,
    healthcheck: healthcheckInputSchema.optional(),
    node: createBody.shape.node,
  },
  { error: 'must be a JSON object' },
);

const idParam = new ZodPipe(containerRef, 'param');
const ApiId = () =>
  ApiZodParam('id', containerRef, "container id, unique id prefix or name; another team's answers 404");

const listQuery = z.object({
  all: z.stringbool().optional().describe('include containers that are not running'),
  label: text(1024).optional().describe('key or key=value'),
  name: text(128).optional(),
  state: z.enum(['created', 'running', 'paused', 'restarting', 'exited', 'dead']).optional(),
});

const stopQuery = z.object({
  t: intParam(0, 3600).optional().describe('grace seconds before SIGKILL'),
});
const killQuery = z.object({
  signal: z
    .string()
    .max(32)
    .regex(/^(SIG)?[A-Z0-9+-]+$|^\d+$/i)
    .optional()
    .describe('signal name or number; default SIGKILL'),
});
const waitQuery = z.object({ condition: z.enum(['not-running', 'next-exit', 'removed']).optional() });
const logsQuery = z.object({
  tail: z.union([z.literal('all'), intParam(0, 1_000_000_000)]).optional(),
  since: text(64).optional().describe('RFC 3339 time or unix seconds: entries at or after it'),
  until: text(64)
    .optional()
    .describe('RFC 3339 time or unix seconds: entries before it; tail counts back from there'),
  stdout: z.stringbool().optional(),
  stderr: z.stringbool().optional(),
});
const execBody = z.strictObject({
  cmd: z.array(text(131_072)).min(1, 'must name a command').max(4096),
  env: z
    .array(text(131_072).regex(/^[^=]+=/, 'must be KEY=VALUE'))
    .max(4096)
    .optional(),
  user: user.optional(),
  workingDir: absolutePath('workingDir').optional(),
  privileged: z
    .boolean()
    .optional()
    .describe('every capability for the process (exec --privileged); policy decides'),
});
const removeQuery = z.object({
  force: z.enum(['true', 'false', '1', '0']).optional().describe('kill it first if it runs'),
});

@ApiTags('containers')
@ApiBearerAuth()
@Controller('containers')
export class ContainersController {
  constructor(
    private readonly containers: ContainerService,
    private readonly inspector: ContainerInspector,
    private readonly execs: ExecService,
    private readonly networks: NetworkConnectVerb,
  ) {}

  @Post()
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Create a container (policy-checked and audited before anything is created)' })
  @ApiResponse({
    status: 504,
    description:
      'With `node`: `DISPATCH_NODE_LOST` when the target node stopped heartbeating with the launch queued ' +
      '(it runs once when the node is back; `detail.launchRequestId`, and `detail.containerId`: the id the ' +
      'container will have, for GET /containers/{id}); `DISPATCH_TIMEOUT` when it did not answer in 120 s',
  })
  @ApiZodBody(createBody)
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(createEdge)) body: Record<string, unknown>,
  ) {
    const {
      name,
      autoRemove,
      openStdin,
      tty,
      hostname,
      endpoints,
      volumesFrom,
      team,
      healthcheck,
      node,
      ...launch
    } = body as z.infer<typeof createBody>;
    const c = await this.containers.create(caller, {
      name,
      team,
      node,
      autoRemove,
      openStdin,
      tty,
      hostname,
      endpoints,
      volumesFrom,
      healthcheck: healthcheck && healthcheckFromInput(healthcheck),
      launch,
    });
    return this.inspector.view(c);
  }

  @Get()
  @ApiOperation({ summary: 'List containers (running only unless all=true)' })
  @ApiZodQuery(listQuery)
  async list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(listQuery, 'query')) q: z.infer<typeof listQuery>,
  ) {
    const [k, v] = q.label?.split('=', 2) ?? [];
    const rows = await this.containers.list(caller, {
      all: q.all,
      states: q.state ? [q.state] : undefined,
      name: q.name,
      labels: k ? { [k]: v } : undefined,
    });
    return this.inspector.shownViews(rows);
  }

  @Get(':id')
  @ApiId()
  @ApiOperation({ summary: 'Inspect a container' })
  async inspect(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    const [view] = await this.inspector.shownViews([await this.containers.resolve(id, caller)]);
    return view;
  }

  @Post(':id/start')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Start a container; 304 when running, 409 in a state it cannot start from' })
  async start(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    return this.inspector.view(await this.containers.start(caller, id));
  }

  @Post(':id/stop')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Stop: SIGTERM, then SIGKILL after t seconds (default 10)' })
  @ApiZodQuery(stopQuery)
  async stop(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(stopQuery, 'query')) q: z.infer<typeof stopQuery>,
  ) {
    return this.inspector.view(await this.containers.stop(caller, id, q.t));
  }

  @Post(':id/kill')
  @ApiId()
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary:
      'Send a signal (default SIGKILL, answered once the process is gone and its exit recorded); 409 unless running',
  })
  @ApiZodQuery(killQuery)
  async kill(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(killQuery, 'query')) q: z.infer<typeof killQuery>,
  ) {
    await this.containers.kill(caller, id, this.inspector.signalName(q.signal));
  }

  @Post(':id/pause')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary: 'Freeze every process of a running container (cgroup freezer); 409 unless running',
  })
  async pause(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    return this.inspector.view(await this.containers.pause(caller, id));
  }

  @Post(':id/unpause')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Thaw a paused container; 409 unless paused' })
  async unpause(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    return this.inspector.view(await this.containers.unpause(caller, id));
  }

  @Post(':id/restart')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Stop (if running) and start again' })
  @ApiZodQuery(stopQuery)
  async restart(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(stopQuery, 'query')) q: z.infer<typeof stopQuery>,
  ) {
    return this.inspector.view(await this.containers.restart(caller, id, q.t));
  }

  @Post(':id/wait')
  @ApiId()
  @HttpCode(200)
  @ApiOperation({ summary: 'Block until the condition holds; answers the exit code' })
  @ApiZodQuery(waitQuery)
  async wait(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(waitQuery, 'query')) q: z.infer<typeof waitQuery>,
  ) {
    const exit = await this.containers.waitExit(caller, id, q.condition);
    return { statusCode: exit.exitCode, oomKilled: exit.oomKilled };
  }

  @Post(':id/networks')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary:
      "Connect a container to a network (running: at once; otherwise at its next start); 403 when the caller's policy does not allow the network",
  })
  @ApiZodBody(connectBody)
  async connect(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Body(new ZodPipe(connectBody)) body: z.infer<typeof connectBody>,
  ) {
    return this.networks.connect(caller, id, body.network, {
      ipv4Address: body.ipv4Address,
      aliases: body.aliases,
    });
  }

  @Delete(':id/networks/:network')
  @ApiId()
  @ApiZodParam('network', networkName, 'network id, unique id prefix or name')
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary: 'Disconnect a container that is not running from a network (its address is freed)',
  })
  async disconnect(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Param('network', new ZodPipe(networkName, 'param')) network: string,
  ) {
    await this.networks.disconnect(caller, id, network);
  }

  @Delete(':id')
  @ApiId()
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary:
      'Remove a container (force=true kills it first); done when it answers; 409 while running without force',
  })
  async remove(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(removeQuery, 'query')) { force }: z.infer<typeof removeQuery>,
  ) {
    await this.containers.remove(caller, id, { force: force === 'true' || force === '1' });
  }

  @Get(':id/logs')
  @ApiId()
  @ApiOperation({ summary: 'Logs as JSON lines {time, stream, log}' })
  @ApiZodQuery(logsQuery)
  async logs(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(logsQuery, 'query')) q: z.infer<typeof logsQuery>,
    @Res() res: Response,
  ) {
    const entries = await this.inspector.logs(caller, id, q);
    res
      .type('application/x-ndjson')
      .send(entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''));
  }

  @Get(':id/stats')
  @ApiId()
  @ApiOperation({
    summary: 'cgroup usage: CPU, memory (current, peak, working set), pids, throttling, OOM kills',
  })
  async stats(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    return this.inspector.stats(caller, id);
  }

  @Get(':id/top')
  @ApiId()
  @ApiOperation({ summary: 'Processes in the container' })
  async top(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    return this.inspector.top(caller, id);
  }

  @Post(':id/exec')
  @ApiId()
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary: 'Run a command in the running container; answers its exit code and output',
    description:
      "Judged by the caller's policy (exec rules) first: 403 with the reasons on a denial. Answers the exec's id, which names its audit events and, when the policy requires recording, its transcript (GET /exec-recordings/{execId}).",
  })
  @ApiZodBody(execBody)
  async exec(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Body(new ZodPipe(execBody)) body: z.infer<typeof execBody>,
  ) {
    return this.execs.run(caller, id, body);
  }
}
