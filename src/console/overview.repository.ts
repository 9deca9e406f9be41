import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Scope } from '../platform/scope';

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

const TOP = 10;
const n = (v: string | number | null) => Number(v ?? 0);

/**
 * The overview's aggregates: one statement each, all bounded by the window through the
 * (type, seq) and (occurred_at, seq) indexes of audit_events, so the page costs the
 * window's rows, not the trail's. Reads the trail, launch requests (the teams a principal
 * had when it was decided) and exceptions; writes nothing.
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
    const decisionOf = (e: string, at: number) =>
      mine
        ? `AND (${e}.principal = $${at} OR EXISTS (SELECT 1 FROM launch_requests lr
                 WHERE lr.id = (${e}.payload->>'launchRequestId')::uuid AND lr.principal_teams && $${at + 1}::text[]))`
        : '';
    const containerOf = (e: string, at: number) =>
      mine
        ? `AND EXISTS (SELECT 1 FROM audit_events c LEFT JOIN launch_requests lr ON lr.id = (c.payload->>'launchRequestId')::uuid
                 WHERE c.type = 'container.created' AND c.subject = ${e}.subject
                   AND (c.principal = $${at} OR lr.principal_teams && $${at + 1}::text[]))`
        : '';
    const p = [w.from, w.to];
    const [buckets, rules, teams, images, containers, expiring, head] = await Promise.all([
      this.ds.query(
        `SELECT date_bin(make_interval(secs => $3), occurred_at, $1::timestamptz) AS start,
                count(*) FILTER (WHERE decision = 'allowed')    AS allowed,
                count(*) FILTER (WHERE decision = 'denied')     AS denied,
                count(*) FILTER (WHERE decision = 'would-deny') AS would_deny
           FROM audit_events e
          WHERE type = 'policy.decision' AND occurred_at >= $1 AND occurred_at < $2 ${decisionOf('e', 4)}
          GROUP BY 1 ORDER BY 1`,
        [...p, w.bucketSeconds, ...scoped],
      ) as Promise<Array<{ start: Date; allowed: string; denied: string; would_deny: string }>>,
      this.ds.query(
        `SELECT r->>'rule' AS rule,
                count(*) FILTER (WHERE e.decision = 'denied')     AS denied,
                count(*) FILTER (WHERE e.decision = 'would-deny') AS would_deny
           FROM audit_events e
           CROSS JOIN LATERAL jsonb_array_elements(e.payload->'decision'->'reasons') AS r
          WHERE e.type = 'policy.decision' AND e.decision IN ('denied', 'would-deny')
            AND e.occurred_at >= $1 AND e.occurred_at < $2 ${decisionOf('e', 3)}
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ${TOP}`,
        [...p, ...scoped],
      ) as Promise<Array<{ rule: string; denied: string; would_deny: string }>>,
      // The cast is on the trail's side so the join uses launch_requests' primary key; pull
      // decisions carry no launch request and have no team.
      this.ds.query(
        `SELECT t.team, count(*) AS denied
           FROM audit_events e
           JOIN launch_requests lr ON lr.id = (e.payload->>'launchRequestId')::uuid
           CROSS JOIN LATERAL unnest(lr.principal_teams) AS t(team)
          WHERE e.type = 'policy.decision' AND e.decision = 'denied'
            AND e.occurred_at >= $1 AND e.occurred_at < $2 ${mine ? 'AND t.team = ANY($3::text[])' : ''}
          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
        mine ? [...p, mine.teams] : p,
      ) as Promise<Array<{ team: string; denied: string }>>,
      this.ds.query(
        `SELECT e.payload->>'image' AS image, count(*) AS denied
           FROM audit_events e
          WHERE e.type = 'policy.decision' AND e.decision = 'denied'
            AND e.occurred_at >= $1 AND e.occurred_at < $2 ${decisionOf('e', 3)}
          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
        [...p, ...scoped],
      ) as Promise<Array<{ image: string; denied: string }>>,
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
    // Every bar of the window, the empty ones too: a chart without its quiet hours would lie
    // about when things happened.
    const found = new Map(buckets.map((b) => [b.start.getTime(), b]));
    const bars: DecisionBucket[] = [];
    for (let t = w.from.getTime(); t < w.to.getTime(); t += w.bucketSeconds * 1000) {
      const b = found.get(t);
      bars.push({
        start: new Date(t).toISOString(),
        allowed: n(b?.allowed ?? 0),
        denied: n(b?.denied ?? 0),
        wouldDeny: n(b?.would_deny ?? 0),
      });
    }
    const sum = (k: 'allowed' | 'denied' | 'wouldDeny') => bars.reduce((a, b) => a + b[k], 0);
    return {
      decisions: {
        buckets: bars,
        totals: { allowed: sum('allowed'), denied: sum('denied'), wouldDeny: sum('wouldDeny') },
      },
      topRules: rules.map((r) => ({ rule: r.rule, denied: n(r.denied), wouldDeny: n(r.would_deny) })),
      topTeams: teams.map((t) => ({ team: t.team, denied: n(t.denied) })),
      topImages: images.map((i) => ({ image: i.image, denied: n(i.denied) })),
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
