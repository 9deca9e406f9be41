import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../../platform/database';
import { scopeSql, sqlParams, type Scope } from '../../platform/scope';
import type {
  ContainerOptions,
  ContainerRecord,
  ContainerState,
  HealthState,
  HealthStatus,
} from './container';

interface Row {
  id: string;
  name: string;
  image: string;
  image_digest: string | null;
  spec: ContainerRecord['spec'];
  options: ContainerOptions;
  policy_version: string | null;
  state: ContainerState;
  pid: number | null;
  shim_pid: number | null;
  node: string;
  exit_code: number | null;
  oom_killed: boolean;
  error: string | null;
  restart_count: number;
  manually_stopped: boolean;
  health: HealthState | null;
  created_by: string;
  team: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  labels: Record<string, string>;
}

const toRecord = (r: Row): ContainerRecord => ({
  id: r.id,
  name: r.name,
  image: r.image,
  imageDigest: r.image_digest ?? undefined,
  spec: r.spec,
  options: r.options,
  policyVersion: r.policy_version ?? undefined,
  state: r.state,
  pid: r.pid ?? undefined,
  shimPid: r.shim_pid ?? undefined,
  node: r.node,
  exitCode: r.exit_code ?? undefined,
  oomKilled: r.oom_killed,
  error: r.error ?? undefined,
  restartCount: r.restart_count,
  manuallyStopped: r.manually_stopped,
  health: r.health ?? undefined,
  createdBy: r.created_by,
  team: r.team,
  createdAt: r.created_at.toISOString(),
  startedAt: r.started_at?.toISOString(),
  finishedAt: r.finished_at?.toISOString(),
  labels: r.labels,
});

export interface ContainerFilter {
  all?: boolean;
  states?: ContainerState[];
  /** Every one must hold: `{k: undefined}` = has label k, `{k: v}` = k is v. */
  labels?: Record<string, string | undefined>;
  /** As `labels`, for Docker's repeated `label` filter (all must hold). */
  labelList?: Array<[string, string | undefined]>;
  /** The name contains this text (REST `?name=`). */
  name?: string;
  /** Docker's `name` filter: any of these patterns matches `/<name>` (see namePatternSql). */
  namePatterns?: string[];
  /** Docker's `id` filter: the id starts with any of these. */
  idPrefixes?: string[];
  /** Docker's `health` filter: the health check's status is any of these (`none`: no check). */
  health?: Array<HealthStatus | 'none'>;
  limit?: number;
  /** Only what this scope sees (platform/scope); everything when left out. */
  scope?: Scope;
}

/**
 * Docker's name filter is a regular expression over `/<name>` (RE2 in Docker, linear time).
 * Only patterns without quantifiers or groups — names, `.`, `^`, `$` — go to PostgreSQL as
 * regexes (where they mean what they mean in RE2); anything else is matched as plain text.
 */
export function namePatternSql(pattern: string): { op: '~' | 'strpos'; value: string } {
  return /^[\w./^$-]*$/.test(pattern) ? { op: '~', value: pattern } : { op: 'strpos', value: pattern };
}

@Injectable()
export class ContainerRepository {
  private readonly sql: PlainSql;

  constructor(ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  /** Inserts a new container; false when the name is taken. */
  async insert(c: ContainerRecord): Promise<boolean> {
    const rows = await this.sql.rows(
      `INSERT INTO containers (id, name, image, image_digest, spec, options, policy_version, state, node, created_by, labels, team, health)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (name) DO NOTHING RETURNING id`,
      [
        c.id,
        c.name,
        c.image,
        c.imageDigest ?? null,
        JSON.stringify(c.spec),
        JSON.stringify(c.options),
        c.policyVersion ?? null,
        c.state,
        c.node,
        c.createdBy,
        JSON.stringify(c.labels),
        c.team,
        c.health ? JSON.stringify(c.health) : null,
      ],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>('SELECT * FROM containers WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * By full id, unique id prefix or name — as the Docker CLI sends them — among the
   * containers the scope sees: one outside it is not found, and does not make a prefix
   * ambiguous either.
   */
  async findByRef(ref: string, scope: Scope): Promise<ContainerRecord[]> {
    const { params, param } = sqlParams(2);
    const inScope = scopeSql(scope, { team: 'team', createdBy: 'created_by' }, param) ?? 'true';
    const rows = await this.sql.rows<Row>(
      `SELECT * FROM (SELECT * FROM containers WHERE name = $1 OR id = $1
       UNION SELECT * FROM containers WHERE $2 AND id LIKE $1 || '%') c WHERE ${inScope} LIMIT 3`,
      [ref.replace(/^\//, ''), /^[0-9a-f]{1,63}$/.test(ref), ...params],
    );
    return rows.map(toRecord);
  }

  async list(f: ContainerFilter): Promise<ContainerRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    // As `docker ps`: a paused or restarting container is still a running one.
    if (!f.all && !f.states) where.push(`state IN ('running', 'paused', 'restarting')`);
    if (f.states) where.push(`state = ANY(${p(f.states)})`);
    const labels = [...Object.entries(f.labels ?? {}), ...(f.labelList ?? [])];
    for (const [k, v] of labels)
      where.push(v === undefined ? `labels ? ${p(k)}` : `labels @> ${p(JSON.stringify({ [k]: v }))}::jsonb`);
    if (f.name) where.push(`strpos(name, ${p(f.name)}) > 0`);
    if (f.namePatterns?.length) {
      const any = f.namePatterns.map((n) => {
        const m = namePatternSql(n);
        return m.op === '~' ? `('/' || name) ~ ${p(m.value)}` : `strpos('/' || name, ${p(m.value)}) > 0`;
      });
      where.push(`(${any.join(' OR ')})`);
    }
    if (f.idPrefixes?.length)
      where.push(`(${f.idPrefixes.map((i) => `starts_with(id, ${p(i)})`).join(' OR ')})`);
    if (f.health?.length) where.push(`COALESCE(health->>'Status', 'none') = ANY(${p(f.health)})`);
    const scoped = f.scope && scopeSql(f.scope, { team: 'team', createdBy: 'created_by' }, p);
    if (scoped) where.push(scoped);
    const limit = f.limit !== undefined && f.limit > 0 ? `LIMIT ${p(f.limit)}` : '';
    const rows = await this.sql.rows<Row>(
      `SELECT * FROM containers ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC ${limit}`,
      params,
    );
    return rows.map(toRecord);
  }

  async listOnNode(node: string, states: ContainerState[]): Promise<ContainerRecord[]> {
    const rows = await this.sql.rows<Row>('SELECT * FROM containers WHERE node = $1 AND state = ANY($2)', [
      node,
      states,
    ]);
    return rows.map(toRecord);
  }

  /*
   * Lifecycle writes. Each is guarded by the states its verb may write from
   * (lifecycle/transitions.ts) and answers the row as it now is, or undefined when the guard
   * did not hold (the row is gone or in another state): the verb then answers 409 or 404.
   */

  /**
   * start: → running. The row as it now is: start answers it without reading it again. A start
   * by a client (not by the restart policy) begins the count of restarts again and forgets a
   * manual stop, as Docker's does. A health check starts again from `starting`.
   */
  async markRunning(
    id: string,
    pid: number,
    shimPid: number,
    from: ContainerState[],
    byClient = true,
  ): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `UPDATE containers SET state = 'running', pid = $2, shim_pid = $3, started_at = now(),
         finished_at = NULL, exit_code = NULL, oom_killed = false, error = NULL,
         restart_count = CASE WHEN $5 THEN 0 ELSE restart_count END,
         manually_stopped = manually_stopped AND NOT $5,
         health = CASE WHEN health IS NULL THEN NULL
                  ELSE jsonb_set(jsonb_set(health, '{Status}', '"starting"'), '{FailingStreak}', '0') END
       WHERE id = $1 AND state = ANY($4) RETURNING *`,
      [id, pid, shimPid, from, byClient],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * The process ended (or never started): → exited. `finishedAt`: when, if not now (an exit
   * that happened while Warden was down, from the shim's exit file).
   */
  async markExited(
    id: string,
    exit: { exitCode: number; oomKilled: boolean; error?: string; finishedAt?: string },
    from: ContainerState[],
    /** `restarting`: its restart policy starts it again; one more restart is counted. */
    to: 'exited' | 'restarting' = 'exited',
  ): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `UPDATE containers SET state = $7, exit_code = $2, oom_killed = $3, error = $4,
         finished_at = COALESCE($6::timestamptz, now()), pid = NULL, shim_pid = NULL,
         restart_count = restart_count + CASE WHEN $7 = 'restarting' THEN 1 ELSE 0 END,
         health = CASE WHEN health IS NULL THEN NULL ELSE jsonb_set(health, '{Status}', '"unhealthy"') END
       WHERE id = $1 AND state = ANY($5) RETURNING *`,
      [id, exit.exitCode, exit.oomKilled, exit.error ?? null, from, exit.finishedAt ?? null, to],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Warden could not bring the process to a known end (recovery): → dead, exit code 255. */
  async markDead(id: string, error: string, from: ContainerState[]): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `UPDATE containers SET state = 'dead', exit_code = 255, oom_killed = false, error = $2,
         finished_at = now(), pid = NULL, shim_pid = NULL
       WHERE id = $1 AND state = ANY($3) RETURNING *`,
      [id, error, from],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** A restarting container's restart called off: exited, as its last exit left it. */
  async cancelRestart(id: string, from: ContainerState[]): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `UPDATE containers SET state = 'exited', manually_stopped = true WHERE id = $1 AND state = ANY($2) RETURNING *`,
      [id, from],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** A client stopped or killed it (or started it again: false). */
  async setManuallyStopped(id: string, stopped: boolean): Promise<void> {
    await this.sql.count('UPDATE containers SET manually_stopped = $2 WHERE id = $1', [id, stopped]);
  }

  /** A probe's result: the health check's state as it now is (only while the process runs). */
  async setHealth(id: string, health: HealthState): Promise<boolean> {
    const n = await this.sql.count(
      `UPDATE containers SET health = $2 WHERE id = $1 AND state IN ('running', 'paused')`,
      [id, JSON.stringify(health)],
    );
    return n === 1;
  }

  /** pause / unpause: only the state changes. */
  async setState(
    id: string,
    to: ContainerState,
    from: ContainerState[],
  ): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      'UPDATE containers SET state = $2 WHERE id = $1 AND state = ANY($3) RETURNING *',
      [id, to, from],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** update: the spec with new limits (any state; the caller holds the container's lock). */
  async setSpec(id: string, spec: ContainerRecord['spec']): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>('UPDATE containers SET spec = $2 WHERE id = $1 RETURNING *', [
      id,
      JSON.stringify(spec),
    ]);
    return rows[0] && toRecord(rows[0]);
  }

  /** rename: false when the new name is taken. */
  async rename(id: string, name: string): Promise<ContainerRecord | undefined | false> {
    try {
      const rows = await this.sql.rows<Row>('UPDATE containers SET name = $2 WHERE id = $1 RETURNING *', [
        id,
        name,
      ]);
      return rows[0] && toRecord(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  /** remove: the row goes first, atomically, so only one removal of a container can win. */
  async deleteFrom(id: string, from: ContainerState[]): Promise<ContainerRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      'DELETE FROM containers WHERE id = $1 AND state = ANY($2) RETURNING *',
      [id, from],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async idsUsingImage(manifestDigest: string): Promise<string[]> {
    const rows = await this.sql.rows<{ id: string }>('SELECT id FROM containers WHERE image_digest = $1', [
      manifestDigest,
    ]);
    return rows.map((r) => r.id);
  }

  async delete(id: string): Promise<void> {
    await this.sql.count('DELETE FROM containers WHERE id = $1', [id]);
  }
}
