import { Module } from '@nestjs/common';
import { FleetService } from './fleet.service';
import { ExecNodes } from './exec-nodes';
import { ForwardTickets } from './forward-tickets';
import { NodeForwarder } from './node-forwarder';
import { NodeLiveness } from './node-liveness';
import { NodeRegistry } from './node-registry';
import { NodeRepository } from './node.repository';
import { NodesController } from './nodes.controller';

/** Nodes on one PostgreSQL and Redis: registration, heartbeats, liveness, GET /nodes (docs/fleet.md). */
@Module({
  providers: [
    NodeRepository,
    NodeLiveness,
    NodeRegistry,
    FleetService,
    ForwardTickets,
    NodeForwarder,
    ExecNodes,
  ],
  controllers: [NodesController],
  exports: [NodeLiveness, NodeRegistry, NodeRepository, ForwardTickets, NodeForwarder, ExecNodes],
})
export class FleetModule {}
