import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL, PlainSql } from '../platform/database';

/** What a node registers: who it is, where it answers, what it offers. */
export interface NodeRecord {
  name: string;
  address: string | null;
  version: string;
  cpus: number;
  memoryBytes: number;
  startedAt: Date;
}

export interface StoredNode extends NodeRecord {
  firstSeen: Date;
  lastSeen: Date;
}

/** A node's containers by recorded state (the row's own, before liveness is applied). */
export type StateCounts = Record<string, number>;

export interface NodeContainerRow {
  id: string;
  name: string;
  image: string;
  state: string;
  createdAt: Date;
}

interface Row {
  name: string;
  address: string | null;
  version: string;
  cpus: number;
  memory_bytes: string;
  started_at: Date;
  first_seen: Date;
  last_seen: Date;
}

const toNode = (r: Row): StoredNode => ({
  name: r.name,
  address: r.address,
  version: r.version,
  cpus: r.cpus,
  memoryBytes: Number(r.memory_bytes),
  startedAt: r.started_at,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
});

/** The `nodes` table, and the containers table read per node (the fleet writes no container). */
@Injectable()
export class NodeRepository {
  private readonly sql: PlainSql;

  constructor(@Inject(PG_POOL) pool: Pool) {
    this.sql = new PlainSql(pool);
  }

  /** A (re)start: everything but first_seen is the node's current word. */
  async register(n: NodeRecord): Promise<StoredNode> {
    const [row] = await this.sql.rows<Row>(
      `INSERT INTO nodes (name, address, version, cpus, memory_bytes, started_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, version = EXCLUDED.version,
         cpus = EXCLUDED.cpus, memory_bytes = EXCLUDED.memory_bytes,
         started_at = EXCLUDED.started_at, last_seen = now()
       RETURNING *`,
      [n.name, n.address, n.version, n.cpus, n.memoryBytes, n.startedAt],
    );
    return toNode(row);
  }

  async touch(name: string): Promise<void> {
    await this.sql.count(`UPDATE nodes SET last_seen = now() WHERE name = $1`, [name]);
  }

  async list(): Promise<StoredNode[]> {
    return (await this.sql.rows<Row>(`SELECT * FROM nodes ORDER BY name`)).map(toNode);
  }

  async get(name: string): Promise<StoredNode | undefined> {
    const [row] = await this.sql.rows<Row>(`SELECT * FROM nodes WHERE name = $1`, [name]);
    return row && toNode(row);
  }

  /** Containers per node and recorded state; nodes without a row in `nodes` too (made before it). */
  async stateCounts(): Promise<Map<string, StateCounts>> {
    const rows = await this.sql.rows<{ node: string; state: string; n: string }>(
      `SELECT node, state, count(*) AS n FROM containers GROUP BY node, state`,
    );
    const out = new Map<string, StateCounts>();
    for (const r of rows) out.set(r.node, { ...out.get(r.node), [r.state]: Number(r.n) });
    return out;
  }

  async containersOn(node: string): Promise<NodeContainerRow[]> {
    return this.sql.rows<NodeContainerRow>(
      `SELECT id, name, image, state, created_at AS "createdAt" FROM containers
       WHERE node = $1 ORDER BY created_at DESC, id`,
      [node],
    );
  }
}
