import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodParam, Roles, ZodPipe } from '../platform/http';
import { FleetService, NodeDetailView, NodeView } from './fleet.service';

const nodeNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be a node name (letters, digits, _ . -)');

/** The fleet (issue 18): every node on this database, whether it heartbeats, what it runs. */
@ApiTags('fleet')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('nodes')
export class NodesController {
  constructor(private readonly fleet: FleetService) {}

  @Get()
  @ApiOperation({
    summary: 'Every Warden node registered on this database, with capacity, status and container counts',
    description:
      'status is up while the node heartbeats within WARDEN_NODE_HEARTBEAT_TIMEOUT, down after; the containers of a down node count as unknown until it returns and reconciles them.',
  })
  list(): Promise<NodeView[]> {
    return this.fleet.list();
  }

  @Get(':name')
  @ApiZodParam('name', nodeNameSchema)
  @ApiOperation({
    summary: 'One node, with its containers (state unknown for the live ones of a down node)',
  })
  get(@Param('name', new ZodPipe(nodeNameSchema, 'param')) name: string): Promise<NodeDetailView> {
    return this.fleet.get(name);
  }
}
