import type { DataSource } from 'typeorm';
import type { Scope } from '../platform/scope';
import type { DecisionBucket, Window } from './overview.repository';

const HOUR_MS = 3_600_000;
const TOP = 10;
const n = (v: string | number | null | undefined) => Number(v ?? 0);

/**
 * The part of a window the hourly rollups can answer: its whole UTC hours [from, to). The
 * rest, at most an hour at each end, is read from the trail. A window inside one hour has
 * none (from = to = the window's end).
 */
export function wholeHours(w: { from: Date; to: Date }): { from: Date; to: Date } {
  const first = Math.ceil(w.from.getTime() / HOUR_MS) * HOUR_MS;
  const last = Math.floor(w.to.getTime() / HOUR_MS) * HOUR_MS;
  return first < last ? { from: new Date(first), to: new Date(last) } : { from: w.to, to: w.to };
}

/**
 * The trail's decisions at the window's edges ($1 to $3, $4 to $2), as the rollups count
 * them (the trigger of the migration CreateDecisionRollups, which must stay the same): the
 * teams its launch request recorded when it was decided, its image, each reason's rule.
 * `teams`: join the launch requests (a statement that neither shows nor scopes by team
 * leaves them out: the planner does not drop the join by itself). `lateral` joins each row
 * to more (its reasons, as x).
 */
const trailEdges = (teams: boolean, lateral = '') => `FROM audit_events e
  ${
    teams
      ? `LEFT JOIN launch_requests lr
    ON lr.id = CASE WHEN pg_input_is_valid(e.payload->>'launchRequestId', 'uuid')
                    THEN (e.payload->>'launchRequestId')::uuid END`
      : ''
  }
  ${lateral}
 WHERE e.type = 'policy.decision'
   AND ((e.occurred_at >= $1 AND e.occurred_at < $3) OR (e.occurred_at >= $4 AND e.occurred_at < $2))`;
const teamsOf = (teams: boolean) => (teams ? `coalesce(lr.principal_teams, '{}'::text[])` : `'{}'::text[]`);

/**
 * The window's decisions, `(at, decision, principal, teams, image, n)`: the rollups' whole
 * hours ($3 to $4) and the trail's rows at both edges, one row each.
 */
const decisions = (teams: boolean) => `(
  SELECT hour AS at, decision, principal, teams, image, decisions AS n
    FROM decision_rollups WHERE hour >= $3 AND hour < $4
  UNION ALL
  SELECT e.occurred_at, e.decision, e.principal, ${teamsOf(teams)}, e.payload->>'image', 1
  ${trailEdges(teams)})`;

/** The window's reasons, `(decision, principal, teams, rule, n)`, the same way. */
const reasons = (teams: boolean) => `(
  SELECT decision, principal, teams, rule, hits AS n
    FROM decision_rule_rollups WHERE hour >= $3 AND hour < $4
  UNION ALL
  SELECT e.decision, e.principal, ${teamsOf(teams)}, x->>'rule', 1
  ${trailEdges(
    teams,
    `CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(e.payload->'decision'->'reasons') = 'array'
                                                   THEN e.payload->'decision'->'reasons' END) x`,
  )})`;

export interface DecisionAggregates {
  buckets: DecisionBucket[];
  topRules: Array<{ rule: string; denied: number; wouldDeny: number }>;
  topTeams: Array<{ team: string; denied: number }>;
  topImages: Array<{ image: string; denied: number }>;
}

/**
 * The overview's four decision aggregates, one statement each. A deployer's scope keeps the
 * decisions it made or made by a principal of one of its teams (the launch request's teams at
 * decision time, as reports count them); its top teams are its own teams.
 */
export async function decisionAggregates(
  ds: DataSource,
  w: Window,
  scope: Scope,
): Promise<DecisionAggregates> {
  const hours = wholeHours(w);
  // Bars of whole hours, aligned on the hour so that no rolled-up hour straddles two bars;
  // narrower bars (windows up to ~30 h) are counted from the trail alone.
  const hourly = w.bucketSeconds % 3600 === 0;
  const origin = hourly ? new Date(Math.floor(w.from.getTime() / HOUR_MS) * HOUR_MS) : w.from;
  const barHours = hourly ? hours : { from: w.to, to: w.to };
  const p = (h: { from: Date; to: Date }) => [w.from, w.to, h.from, h.to];
  const mine = scope.all ? undefined : [scope.principal, [...scope.teams]];
  const scoped = (at: number) => (mine ? `WHERE (principal = $${at} OR teams && $${at + 1}::text[])` : '');
  const [bars, rules, teams, images] = await Promise.all([
    ds.query(
      `SELECT date_bin(make_interval(secs => $5), at, $6::timestamptz) AS start,
              sum(n) FILTER (WHERE decision = 'allowed')    AS allowed,
              sum(n) FILTER (WHERE decision = 'denied')     AS denied,
              sum(n) FILTER (WHERE decision = 'would-deny') AS would_deny
         FROM ${decisions(!!mine)} d ${scoped(7)}
        GROUP BY 1 ORDER BY 1`,
      [...p(barHours), w.bucketSeconds, origin, ...(mine ?? [])],
    ) as Promise<
      Array<{ start: Date; allowed: string | null; denied: string | null; would_deny: string | null }>
    >,
    ds.query(
      `SELECT rule,
              sum(n) FILTER (WHERE decision = 'denied')     AS denied,
              sum(n) FILTER (WHERE decision = 'would-deny') AS would_deny
         FROM (SELECT * FROM ${reasons(!!mine)} r WHERE decision IN ('denied', 'would-deny')) r ${scoped(5)}
        GROUP BY 1 ORDER BY sum(n) DESC, 1 LIMIT ${TOP}`,
      [...p(hours), ...(mine ?? [])],
    ) as Promise<Array<{ rule: string; denied: string | null; would_deny: string | null }>>,
    ds.query(
      `SELECT t.team, sum(n) AS denied
         FROM ${decisions(true)} d CROSS JOIN LATERAL unnest(d.teams) AS t(team)
        WHERE d.decision = 'denied' ${mine ? 'AND t.team = ANY($5::text[])' : ''}
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
      [...p(hours), ...(mine ? [mine[1]] : [])],
    ) as Promise<Array<{ team: string; denied: string }>>,
    ds.query(
      `SELECT image, sum(n) AS denied
         FROM (SELECT * FROM ${decisions(!!mine)} d WHERE decision = 'denied') d ${scoped(5)}
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
      [...p(hours), ...(mine ?? [])],
    ) as Promise<Array<{ image: string; denied: string }>>,
  ]);
  // Every bar of the window, the empty ones too: a chart without its quiet hours would lie
  // about when things happened. The first bar starts at the window's start.
  const found = new Map(bars.map((b) => [b.start.getTime(), b]));
  const buckets: DecisionBucket[] = [];
  for (let t = origin.getTime(); t < w.to.getTime(); t += w.bucketSeconds * 1000) {
    const b = found.get(t);
    buckets.push({
      start: new Date(Math.max(t, w.from.getTime())).toISOString(),
      allowed: n(b?.allowed),
      denied: n(b?.denied),
      wouldDeny: n(b?.would_deny),
    });
  }
  return {
    buckets,
    topRules: rules.map((r) => ({ rule: r.rule, denied: n(r.denied), wouldDeny: n(r.would_deny) })),
    topTeams: teams.map((t) => ({ team: t.team, denied: n(t.denied) })),
    topImages: images.map((i) => ({ image: i.image, denied: n(i.denied) })),
  };
}
