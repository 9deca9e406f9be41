import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, Caller, CurrentCaller, Roles, ZodPipe, text } from '../platform/http';
import { scopeOf } from '../platform/scope';
import type { NetworkRecord } from './network';
import { NetworkService } from './network.service';

const networkRef = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a network id, id prefix or name');

export const networkCreateBody = z.strictObject({
  name: text(128).describe('network name: [a-zA-Z0-9][a-zA-Z0-9_.-]*'),
  driver: z.literal('bridge').optional().describe('only bridge'),
  subnet: text(64).optional().describe('IPv4 CIDR; default: the next free /24 of WARDEN_NETWORK_POOL'),
  gateway: text(64).optional().describe('default: the first address of the subnet'),
  ipRange: text(64).optional().describe('addresses are allocated from this part of the subnet'),
  subnet6: text(64)
    .optional()
    .describe('IPv6 CIDR (e.g. fd00:1::/64): the network has IPv6 too, each container an address of it'),
  gateway6: text(64).optional().describe('with subnet6; default: its first address'),
  internal: z.boolean().optional().describe('no route out of the network'),
  labels: z.record(text(1024), text(65_536)).optional(),
  options: z.record(text(256), text(4096)).optional(),
  team: text(128)
    .min(1)
    .optional()
    .describe("the team to own it, one of the caller's; default its first team (see docs/security.md)"),
});

const refPipe = new ZodPipe(networkRef, 'param');
const ApiRef = () => ApiZodParam('id', networkRef, 'network id, unique id prefix or name');

@ApiTags('networks')
@ApiBearerAuth()
@Controller('networks')
export class NetworksController {
  constructor(private readonly networks: NetworkService) {}

  @Get()
  @ApiOperation({ summary: 'List networks: the built-in bridge, host and none, and user-defined ones' })
  async list(@CurrentCaller() caller: Caller) {
    return (await this.networks.list(scopeOf(caller.principal))).map(view);
  }

  @Get(':id')
  @ApiRef()
  @ApiOperation({ summary: 'Inspect a network, with the containers on it and their addresses' })
  async inspect(@CurrentCaller() caller: Caller, @Param('id', refPipe) id: string) {
    const scope = scopeOf(caller.principal);
    const n = await this.networks.get(id, scope);
    const containers = await this.networks.containersOn(n.id, scope);
    return {
      ...view(n),
      containers: containers.map((c) => ({
        id: c.containerId,
        name: c.containerName,
        address: c.address,
        address6: c.address6 ?? null,
        aliases: c.aliases,
      })),
    };
  }

  @Post()
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary: 'Create a bridge network (audited); 409 when the name is taken or the subnet overlaps',
  })
  @ApiZodBody(networkCreateBody)
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(networkCreateBody)) body: z.infer<typeof networkCreateBody>,
  ) {
    return view(await this.networks.create(caller, body));
  }

  @Delete(':id')
  @ApiRef()
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Remove a network; 409 while containers are on it, 403 for the built-in ones' })
  async remove(@CurrentCaller() caller: Caller, @Param('id', refPipe) id: string) {
    await this.networks.remove(caller, id);
  }

  @Post('prune')
  @HttpCode(200)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Remove every user-defined network no container is on' })
  async prune(@CurrentCaller() caller: Caller) {
    return { removed: await this.networks.prune(caller) };
  }
}

const view = (n: NetworkRecord) => ({
  id: n.id,
  name: n.name,
  driver: n.driver,
  interface: n.interface ?? null,
  subnet: n.subnet ?? null,
  gateway: n.gateway ?? null,
  ipRange: n.ipRange ?? null,
  subnet6: n.subnet6 ?? null,
  gateway6: n.gateway6 ?? null,
  internal: n.internal,
  dnsEnabled: n.dnsEnabled,
  builtin: n.builtin,
  labels: n.labels,
  options: n.options,
  createdAt: n.createdAt,
});
