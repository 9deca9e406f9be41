import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PlainSql } from '../platform/database';
import type { Decision } from './evaluate';
import type { PolicyDocument } from './document/policy-document';
import type { ContainerSpec } from './spec/container-spec';

/** A DataSource or a transaction's EntityManager: repository methods run on either. */
export type Sql = Pick<EntityManager, 'query'>;

/** Warden's principals and teams, everyone, and Kubernetes subjects (issue 18, admission). */
export const BINDING_KINDS = [
  'principal',
  'team',
  'everyone',
  'k8s-user',
  'k8s-group',
  'k8s-namespace',
  'k8s-serviceaccount',
] as const;
export type BindingKind = (typeof BINDING_KINDS)[number];
/** The value stored for an `everyone` binding (the column is never empty). */
export const EVERYONE = '*';

export interface PolicyRecord {
  name: string;
  activeVersion: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface PolicyVersionRecord {
  id: string;
  policy: string;
  document: PolicyDocument;
  createdBy: string;
  createdAt: string;
}

export interface BindingRecord {
  id: string;
  policy: string;
  kind: BindingKind;
  value: string;
  createdBy: string;
  createdAt: string;
}

/** A binding that matches a principal, with the bound policy's active version (if any). */
export interface MatchedBinding {
  kind: BindingKind;
  value: string;
  policy: string;
  activeVersion: string | null;
  document: PolicyDocument | null;
}

export interface LaunchRequestRecord {
  id: string;
  principal: string;
  principalTeams: string[];
  /** As received: a raw launch request, or the spec when the caller had already built one. */
  request: unknown;
  /** The validated spec before policy defaults: what a replayed policy starts from. */
  spec: ContainerSpec;
  decision: Decision;
  policyVersion: string | null;
  createdAt: Date;
}

const iso = (d: Date) => d.toISOString();

const policyRow = (r: {
  name: string;
  active_version: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}): PolicyRecord => ({
  name: r.name,
  activeVersion: r.active_version,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const versionRow = (r: {
  id: string;
  policy_name: string;
  document: PolicyDocument;
  created_by: string;
  created_at: Date;
}): PolicyVersionRecord => ({
  id: r.id,
  policy: r.policy_name,
  document: r.document,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
});

const bindingRow = (r: {
  id: string;
  policy_name: string;
  kind: BindingKind;
  value: string;
  created_by: string;
  created_at: Date;
}): BindingRecord => ({
  id: r.id,
  policy: r.policy_name,
  kind: r.kind,
  value: r.value,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
});

/** Policies, their immutable versions, bindings and recorded launch requests. */
@Injectable()
export class PolicyRepository {
  /** The launch request insert is on every launch's path: no QueryRunner per insert (see PlainSql). */
  private readonly plain: PlainSql;

  constructor(readonly ds: DataSource) {
    this.plain = new PlainSql(ds);
  }

  async countPolicies(sql: Sql = this.ds): Promise<number> {
    const rows: Array<{ n: number }> = await sql.query('SELECT count(*)::int AS n FROM policies');
    return rows[0].n;
  }

  async findPolicy(name: string, sql: Sql = this.ds): Promise<PolicyRecord | undefined> {
    const rows = await sql.query('SELECT * FROM policies WHERE name = $1', [name]);
    return rows[0] ? policyRow(rows[0]) : undefined;
  }

  async listPolicies(): Promise<PolicyRecord[]> {
    return (await this.ds.query('SELECT * FROM policies ORDER BY name')).map(policyRow);
  }

  /** Creates the policy row on its first version; later versions find it there. */
  async ensurePolicy(name: string, by: string, sql: Sql = this.ds): Promise<void> {
    await sql.query(`INSERT INTO policies (name, created_by) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      name,
      by,
    ]);
  }

  /** Idempotent on the content hash: the same document twice is one version. */
  async insertVersion(
    v: { id: string; policy: string; document: PolicyDocument; createdBy: string },
    sql: Sql = this.ds,
  ): Promise<{ version: PolicyVersionRecord; created: boolean }> {
    const inserted = await sql.query(
      `INSERT INTO policy_versions (id, policy_name, document, created_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING
       RETURNING id, policy_name, document, created_by, created_at`,
      [v.id, v.policy, JSON.stringify(v.document), v.createdBy],
    );
    if (inserted.length) return { version: versionRow(inserted[0]), created: true };
    const existing = await this.findVersion(v.id, sql);
    if (!existing) throw new Error(`policy version ${v.id} neither inserted nor found`);
    return { version: existing, created: false };
  }

  async findVersion(id: string, sql: Sql = this.ds): Promise<PolicyVersionRecord | undefined> {
    const rows = await sql.query(
      'SELECT id, policy_name, document, created_by, created_at FROM policy_versions WHERE id = $1',
      [id],
    );
    return rows[0] ? versionRow(rows[0]) : undefined;
  }

  async listVersions(policy: string): Promise<PolicyVersionRecord[]> {
    const rows = await this.ds.query(
      `SELECT id, policy_name, document, created_by, created_at FROM policy_versions
       WHERE policy_name = $1 ORDER BY seq`,
      [policy],
    );
    return rows.map(versionRow);
  }

  /** Sets the active version; returns the one it replaced (undefined when the policy is unknown). */
  async activate(
    policy: string,
    versionId: string,
    sql: Sql = this.ds,
  ): Promise<{ previous: string | null } | undefined> {
    const rows: Array<{ previous: string | null }> = await sql.query(
      `WITH prev AS (SELECT active_version FROM policies WHERE name = $1),
            u AS (UPDATE policies SET active_version = $2, updated_at = now() WHERE name = $1 RETURNING name)
       SELECT prev.active_version AS previous FROM u, prev`,
      [policy, versionId],
    );
    return rows[0];
  }

  async listBindings(policy?: string): Promise<BindingRecord[]> {
    const rows = policy
      ? await this.ds.query('SELECT * FROM policy_bindings WHERE policy_name = $1 ORDER BY kind, value', [
          policy,
        ])
      : await this.ds.query('SELECT * FROM policy_bindings ORDER BY policy_name, kind, value');
    return rows.map(bindingRow);
  }

  async findBinding(
    kind: BindingKind,
    value: string,
    sql: Sql = this.ds,
  ): Promise<BindingRecord | undefined> {
    const rows = await sql.query('SELECT * FROM policy_bindings WHERE kind = $1 AND value = $2', [
      kind,
      value,
    ]);
    return rows[0] ? bindingRow(rows[0]) : undefined;
  }

  /** Inserts a binding; undefined when the subject is already bound (to this or another policy). */
  async insertBinding(
    b: { id: string; policy: string; kind: BindingKind; value: string; createdBy: string },
    sql: Sql = this.ds,
  ): Promise<BindingRecord | undefined> {
    const rows = await sql.query(
      `INSERT INTO policy_bindings (id, policy_name, kind, value, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (kind, value) DO NOTHING RETURNING *`,
      [b.id, b.policy, b.kind, b.value, b.createdBy],
    );
    return rows[0] ? bindingRow(rows[0]) : undefined;
  }

  /** Moves an existing binding of the subject to another policy. */
  async rebind(
    b: { policy: string; kind: BindingKind; value: string; createdBy: string },
    sql: Sql = this.ds,
  ): Promise<BindingRecord | undefined> {
    const rows = await sql.query(
      `WITH u AS (
         UPDATE policy_bindings SET policy_name = $1, created_by = $4, created_at = now()
         WHERE kind = $2 AND value = $3 RETURNING *)
       SELECT * FROM u`,
      [b.policy, b.kind, b.value, b.createdBy],
    );
    return rows[0] ? bindingRow(rows[0]) : undefined;
  }

  async deleteBinding(policy: string, kind: BindingKind, value: string): Promise<BindingRecord | undefined> {
    const rows = await this.ds.query(
      `WITH d AS (DELETE FROM policy_bindings WHERE policy_name = $1 AND kind = $2 AND value = $3 RETURNING *)
       SELECT * FROM d`,
      [policy, kind, value],
    );
    return rows[0] ? bindingRow(rows[0]) : undefined;
  }

  /** Every binding that could apply to the principal, at all three levels; the service picks. */
  /** `subjects`: `<kind>:<value>` of the Kubernetes kinds a reviewed object names (admission). */
  async matchBindings(
    principalId: string,
    teams: string[],
    subjects: string[] = [],
  ): Promise<MatchedBinding[]> {
    const rows: Array<{
      kind: BindingKind;
      value: string;
      policy_name: string;
      active_version: string | null;
      document: PolicyDocument | null;
    }> = await this.ds.query(
      `SELECT b.kind, b.value, b.policy_name, p.active_version, v.document
       FROM policy_bindings b
       JOIN policies p ON p.name = b.policy_name
       LEFT JOIN policy_versions v ON v.id = p.active_version
       WHERE (b.kind = 'principal' AND b.value = $1)
          OR (b.kind = 'team' AND b.value = ANY($2::text[]))
          OR (b.kind LIKE 'k8s-%' AND b.kind || ':' || b.value = ANY($3::text[]))
          OR b.kind = 'everyone'
       ORDER BY b.kind, b.value`,
      [principalId, teams, subjects],
    );
    return rows.map((r) => ({
      kind: r.kind,
      value: r.value,
      policy: r.policy_name,
      activeVersion: r.active_version,
      document: r.document,
    }));
  }

  async insertLaunchRequest(r: LaunchRequestRecord): Promise<void> {
    await this.plain.count(
      `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, policy_version, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        r.id,
        r.principal,
        r.principalTeams,
        JSON.stringify(r.request ?? null),
        JSON.stringify(r.spec),
        JSON.stringify(r.decision),
        r.policyVersion,
        r.createdAt,
      ],
    );
  }

  /** Takes back a request whose decision event could not be recorded (nothing acted on it). */
  async deleteLaunchRequest(id: string): Promise<void> {
    await this.plain.count(`DELETE FROM launch_requests WHERE id = $1`, [id]);
  }

  /** Launch requests recorded in [from, to), oldest first, at most `limit`. */
  async listLaunchRequests(from: Date, to: Date, limit: number): Promise<LaunchRequestRecord[]> {
    const rows: Array<{
      id: string;
      principal: string;
      principal_teams: string[];
      request: unknown;
      spec: ContainerSpec;
      decision: Decision;
      policy_version: string | null;
      created_at: Date;
    }> = await this.ds.query(
      `SELECT * FROM launch_requests WHERE created_at >= $1 AND created_at < $2
       ORDER BY created_at, id LIMIT $3`,
      [from, to, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      principal: r.principal,
      principalTeams: r.principal_teams,
      request: r.request,
      spec: r.spec,
      decision: r.decision,
      policyVersion: r.policy_version,
      createdAt: r.created_at,
    }));
  }
}
