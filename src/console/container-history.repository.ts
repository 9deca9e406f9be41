import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { scopeSql, type Scope } from '../platform/scope';

export type HistoryState = 'created' | 'running' | 'exited' | 'dead' | 'removed';

export interface ContainerHistoryQuery {
  state?: HistoryState;
  /** Part of the name, the image or the id. */
  q?: string;
  team?: string;
  limit: number;
  /** Only what this scope sees (platform/scope); a removed container by the team its creation recorded. */
  scope?: Scope;
}

export interface ContainerHistoryRow {
  id: string;
  name: string;
  image: string;
  /** As recorded; `unknown` while its node is down (the controller applies src/fleet's liveness). */
  state: HistoryState | 'unknown';
  /** With `unknown`: the state its row records. */
  recordedState?: HistoryState;
  /** The node that runs or ran it (null for a removed one: the trail's events name none). */
  node: string | null;
  createdBy: string;
  /** The owning team (null: its creator alone, or made before teams were recorded). */
  team: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  removedAt: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  memoryBytes: number | null;
  nanoCpus: number | null;
  pidsLimit: number | null;
  labels: Record<string, string>;
}

interface Row {
  id: string;
  name: string;
  image: string;
  state: HistoryState;
  node: string | null;
  created_by: string;
  team: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  removed_at: Date | null;
  exit_code: number | null;
  oom_killed: boolean;
  spec: Record<string, unknown> | null;
  labels: Record<string, string> | null;
}

const numOrNull = (v: unknown) => (typeof v === 'number' ? v : null);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Containers as the console lists them: the live rows, and the removed ones rebuilt from
 * the trail (a removed container's row is gone; its created, started, died and removed
 * events stay). Removed containers are found from their `container.removed` events through
 * the (type, seq) index; each one's other events through the (subject, seq) index.
 */
@Injectable()
export class ContainerHistoryRepository {
  constructor(private readonly ds: DataSource) {}

  async list(q: ContainerHistoryQuery): Promise<ContainerHistoryRow[]> {
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (q.state) where.push(`state = ${p(q.state)}`);
    if (q.q) {
      const like = p(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(name ILIKE ${like} OR image ILIKE ${like} OR id ILIKE ${like})`);
    }
    if (q.team) {
      // The owning team; containers from before teams were recorded by their `team` label.
      const team = p(q.team);
      where.push(`(team = ${team} OR (team IS NULL AND labels->>'team' = ${team}))`);
    }
    const scoped = q.scope && scopeSql(q.scope, { team: 'team', createdBy: 'created_by' }, p);
    if (scoped) where.push(scoped);
    const live = q.state === undefined || q.state !== 'removed';
    const removed = q.state === undefined || q.state === 'removed';
    const parts = [
      live &&
        `SELECT id, name, image, state, node, created_by, team, created_at, started_at, finished_at,
                NULL::timestamptz AS removed_at, exit_code, oom_killed, spec, labels
           FROM containers`,
      removed &&
        `SELECT rm.subject AS id, cr.payload->>'name' AS name, cr.payload->>'image' AS image,
                'removed' AS state, NULL::text AS node, cr.principal AS created_by, cr.payload->>'team' AS team,
                cr.occurred_at AS created_at,
                st.occurred_at AS started_at, d.occurred_at AS finished_at, rm.occurred_at AS removed_at,
                (d.payload->>'exitCode')::int AS exit_code,
                coalesce((d.payload->>'oomKilled')::boolean, false) AS oom_killed,
                cr.payload->'spec' AS spec,
                coalesce(cr.payload->'spec'->'labels', '{}'::jsonb) AS labels
           FROM audit_events rm
           JOIN LATERAL (SELECT * FROM audit_events c
                          WHERE c.subject = rm.subject AND c.type = 'container.created'
                          ORDER BY c.seq LIMIT 1) cr ON true
           LEFT JOIN LATERAL (SELECT * FROM audit_events s
                               WHERE s.subject = rm.subject AND s.type = 'container.started'
                               ORDER BY s.seq LIMIT 1) st ON true
           LEFT JOIN LATERAL (SELECT * FROM audit_events x
                               WHERE x.subject = rm.subject AND x.type = 'container.died'
                               ORDER BY x.seq DESC LIMIT 1) d ON true
          WHERE rm.type = 'container.removed'
            AND NOT EXISTS (SELECT 1 FROM containers live WHERE live.id = rm.subject)`,
    ].filter(Boolean);
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM (${parts.join(' UNION ALL ')}) c
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id LIMIT ${p(q.limit)}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id.trim(),
      name: r.name,
      image: r.image,
      state: r.state,
      node: r.node,
      createdBy: r.created_by,
      team: r.team,
      createdAt: r.created_at.toISOString(),
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
      removedAt: iso(r.removed_at),
      exitCode: r.exit_code,
      oomKilled: r.oom_killed,
      memoryBytes: numOrNull(r.spec?.memoryBytes),
      nanoCpus: numOrNull(r.spec?.nanoCpus),
      pidsLimit: numOrNull(r.spec?.pidsLimit),
      labels: r.labels ?? {},
    }));
  }
}
