import { Injectable } from '@nestjs/common';
import { WardenError } from '../platform/errors';
import { NodeLiveness } from './node-liveness';
import { NodeContainerRow, NodeRepository, StateCounts, StoredNode } from './node.repository';

export type NodeStatus = 'up' | 'down';

export interface NodeView {
  name: string;
  /** up: heartbeating within the window; down: its window passed (killed, stopped, cut off). */
  status: NodeStatus;
  /** This process's own node. */
  self: boolean;
  address: string | null;
  version: string;
  capacity: { cpus: number; memoryBytes: number };
  /**
   * Its containers: running as recorded while it is up; `unknown` counts those recorded as
   * running, paused or restarting while it is down; total counts every row, exited ones too.
   */
  containers: { running: number; unknown: number; total: number };
  startedAt: string;
  firstSeen: string;
  lastSeen: string;
}

export interface NodeDetailView extends NodeView {
  containerList: Array<{ id: string; name: string; image: string; state: string; createdAt: string }>;
}

/** The fleet as GET /nodes shows it: the nodes table, liveness from Redis, counts from containers. */
@Injectable()
export class FleetService {
  constructor(
    private readonly repo: NodeRepository,
    private readonly liveness: NodeLiveness,
  ) {}

  async list(): Promise<NodeView[]> {
    const [nodes, counts] = await Promise.all([this.repo.list(), this.repo.stateCounts()]);
    const down = await this.liveness.down(nodes.map((n) => n.name));
    return nodes.map((n) => this.view(n, counts.get(n.name) ?? {}, down));
  }

  async get(name: string): Promise<NodeDetailView> {
    const node = await this.repo.get(name);
    if (!node)
      throw new WardenError('NODE_NOT_FOUND', `no node named ${name}; GET /nodes lists them`, { node: name });
    const [rows, down] = await Promise.all([this.repo.containersOn(name), this.liveness.down([name])]);
    const counts: StateCounts = {};
    for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    return {
      ...this.view(node, counts, down),
      containerList: rows.map((r: NodeContainerRow) => ({
        id: r.id,
        name: r.name,
        image: r.image,
        state: this.liveness.shown(r.state, name, down),
        createdAt: r.createdAt.toISOString(),
      })),
    };
  }

  private view(n: StoredNode, counts: StateCounts, down: Set<string>): NodeView {
    const isDown = down.has(n.name);
    const live = (counts.running ?? 0) + (counts.paused ?? 0) + (counts.restarting ?? 0);
    return {
      name: n.name,
      status: isDown ? 'down' : 'up',
      self: n.name === this.liveness.self,
      address: n.address,
      version: n.version,
      capacity: { cpus: n.cpus, memoryBytes: n.memoryBytes },
      containers: {
        running: isDown ? 0 : (counts.running ?? 0),
        unknown: isDown ? live : 0,
        total: Object.values(counts).reduce((a, b) => a + b, 0),
      },
      startedAt: n.startedAt.toISOString(),
      firstSeen: n.firstSeen.toISOString(),
      lastSeen: n.lastSeen.toISOString(),
    };
  }
}
