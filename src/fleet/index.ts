export { FleetModule } from './fleet.module';
export { NodeLiveness } from './node-liveness';
export { NodeRegistry } from './node-registry';
export type { NodeView, NodeDetailView, NodeStatus } from './fleet.service';
export { settleNodeName } from './settle-node-name';
export { ForwardTickets, FORWARD_HEADER } from './forward-tickets';
export { NodeRepository } from './node.repository';
export { NodeForwarder } from './node-forwarder';
export type { ForwardTo } from './node-forwarder';
