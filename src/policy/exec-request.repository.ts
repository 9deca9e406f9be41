import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../platform/database';
import type { Decision } from './evaluate';
import type { ExecSpec } from './spec/exec-spec';

/** An exec as judged, kept for replay; the spec's variables carry names only. */
export interface ExecRequestRecord {
  id: string;
  principal: string;
  principalTeams: string[];
  spec: ExecSpec;
  decision: Decision;
  policyVersion: string | null;
  createdAt: Date;
}

/** `NAME=value` → `NAME=`: what the exec rules judge, without values that may be secrets. */
export function withoutEnvValues(spec: ExecSpec): ExecSpec {
  return { ...spec, env: spec.env.map((e) => `${e.slice(0, Math.max(0, e.indexOf('=')))}=`) };
}

@Injectable()
export class ExecRequestRepository {
  private readonly plain: PlainSql;

  constructor(private readonly ds: DataSource) {
    this.plain = new PlainSql(ds);
  }

  async insert(r: ExecRequestRecord): Promise<void> {
    await this.plain.count(
      `INSERT INTO exec_requests (id, principal, principal_teams, spec, decision, policy_version, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        r.id,
        r.principal,
        r.principalTeams,
        JSON.stringify(withoutEnvValues(r.spec)),
        JSON.stringify(r.decision),
        r.policyVersion,
        r.createdAt,
      ],
    );
  }

  /** Takes back a request whose decision event could not be recorded (nothing acted on it). */
  async delete(id: string): Promise<void> {
    await this.plain.count(`DELETE FROM exec_requests WHERE id = $1`, [id]);
  }

  /** Exec requests recorded in [from, to), oldest first, at most `limit`. */
  async list(from: Date, to: Date, limit: number): Promise<ExecRequestRecord[]> {
    const rows: Array<{
      id: string;
      principal: string;
      principal_teams: string[];
      spec: ExecSpec;
      decision: Decision;
      policy_version: string | null;
      created_at: Date;
    }> = await this.ds.query(
      `SELECT * FROM exec_requests WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id LIMIT $3`,
      [from, to, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      principal: r.principal,
      principalTeams: r.principal_teams,
      spec: r.spec,
      decision: r.decision,
      policyVersion: r.policy_version,
      createdAt: r.created_at,
    }));
  }
}
