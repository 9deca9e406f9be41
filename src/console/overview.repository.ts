import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Scope } from '../platform/scope';
import { decisionAggregates } from './decision-aggregates';

export interface Window {
  from: Date;
  to: Date;
  /** Width of one bar of the decisions chart. */
  bucketSeconds: number;
}

export interface DecisionBucket {
  start: string;
  allowed: number;
  denied: number;
  wouldDeny: number;
}

export interface Overview {
  decisions: { buckets: DecisionBucket[]; totals: Omit<DecisionBucket, 'start'> };
  topRules: Array<{ rule: string; denied: number; wouldDeny: number }>;
  topTeams: Array<{ team: string; denied: number }>;
  topImages: Array<{ image: string; denied: number }>;
  containers: { oomKills: number; restarts: number; exits: number };
  exceptionsExpiring: Array<{
    id: string;
    rule: string;
    principalId: string | null;
    team: string | null;
    image: string | null;
    expiresAt: string;
  }>;
  chainHead: { seq: number; hash: string; occurredAt: string } | null;
}

const n = (v: string | number | null) => Number(v ?? 0);

/**
 * The overview's aggregates, one statement each. Decisions come from the hourly rollups and
 * the trail's rows in the window's partial edge hours (decision-aggregates.ts); container
 * events are bounded by the window through the (type, seq) and (occurred_at, seq) indexes of
 * audit_events. Reads the trail, its rollups, launch requests (the teams a principal had when
 * it was decided) and exceptions; writes nothing.
 */
@Injectable()
export class OverviewRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * A deployer's scope keeps its teams' part (platform/scope): decisions it made or made by a
   * principal of one of its teams (the launch request's teams at decision time, as reports
   * count them), those containers' exits and restarts, its teams' and its own exceptions; the
   * chain head is the trail's, which only admins and auditors read.
   */
  async overview(w: Window, expiringWithin: Date, scope: Scope = { all: true }): Promise<Overview> {
    const mine = scope.all ? undefined : { principal: scope.principal, teams: [...scope.teams] };
    // $1 from, $2 to; the scope's two values follow the statement's own.
    const scoped = mine ? [mine.principal, mine.teams] : [];
    const containerOf = (e: string, at: number) =>
      mine
        ? `AND EXISTS (SELECT 1 FROM audit_events c LEFT JOIN launch_requests lr ON lr.id = (c.payload->>'launchRequestId')::uuid
                 WHERE c.type = 'container.created' AND c.subject = ${e}.subject
                   AND (c.principal = $${at} OR lr.principal_teams && $${at + 1}::text[]))`
        : '';
    const p = [w.from, w.to];
    const [decisions, containers, expiring, head] = await Promise.all([
      decisionAggregates(this.ds, w, scope),
      // A restart is a start of a container that had started before (docker restart, a
      // restart policy, a start after an exit).
      this.ds.query(
        `SELECT count(*) FILTER (WHERE e.type = 'container.died' AND (e.payload->>'oomKilled')::boolean) AS oom_kills,
                count(*) FILTER (WHERE e.type = 'container.died') AS exits,
                count(*) FILTER (WHERE e.type = 'container.started' AND EXISTS (
                  SELECT 1 FROM audit_events s
                   WHERE s.type = 'container.started' AND s.subject = e.subject AND s.seq < e.seq)) AS restarts
           FROM audit_events e
          WHERE e.type IN ('container.died', 'container.started')
            AND e.occurred_at >= $1 AND e.occurred_at < $2 ${containerOf('e', 3)}`,
        [...p, ...scoped],
      ) as Promise<Array<{ oom_kills: string; exits: string; restarts: string }>>,
      this.ds.query(
        `SELECT id, rule, principal_id, team, coalesce(image_repository, image_digest) AS image, expires_at
           FROM policy_exceptions
          WHERE expires_at > now() AND expires_at <= $1
            ${mine ? 'AND (principal_id = $2 OR team = ANY($3::text[]))' : ''}
          ORDER BY expires_at, id LIMIT 50`,
        [expiringWithin, ...scoped],
      ) as Promise<
        Array<{
          id: string;
          rule: string;
          principal_id: string | null;
          team: string | null;
          image: string | null;
          expires_at: Date;
        }>
      >,
      (mine
        ? Promise.resolve([])
        : this.ds.query(
            'SELECT seq, hash, occurred_at FROM audit_events ORDER BY seq DESC LIMIT 1',
          )) as Promise<Array<{ seq: string; hash: string; occurred_at: Date }>>,
    ]);
    const bars = decisions.buckets;
    const sum = (k: 'allowed' | 'denied' | 'wouldDeny') => bars.reduce((a, b) => a + b[k], 0);
    return {
      decisions: {
        buckets: bars,
        totals: { allowed: sum('allowed'), denied: sum('denied'), wouldDeny: sum('wouldDeny') },
      },
      topRules: decisions.topRules,
      topTeams: decisions.topTeams,
      topImages: decisions.topImages,
      containers: {
        oomKills: n(containers[0].oom_kills),
        restarts: n(containers[0].restarts),
        exits: n(containers[0].exits),
      },
      exceptionsExpiring: expiring.map((x) => ({
        id: x.id,
        rule: x.rule,
        principalId: x.principal_id,
        team: x.team,
        image: x.image,
        expiresAt: x.expires_at.toISOString(),
      })),
      chainHead: head[0]
        ? { seq: n(head[0].seq), hash: head[0].hash, occurredAt: head[0].occurred_at.toISOString() }
        : null,
    };
  }
}
