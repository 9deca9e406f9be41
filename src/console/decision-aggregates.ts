import type { DataSource } from 'typeorm';
import type { Scope } from '../platform/scope';
import type { DecisionBucket, Window } from './overview.repository';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const TOP = 10;
const n = (v: string | number | null | undefined) => Number(v ?? 0);
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

/**
 * How a window is counted, as the statements' first six parameters: [from, to, h1, h2, d1,
 * d2]. Whole UTC days [d1, d2) come from the daily rollups, whole hours [h1, d1) and [d2, h2)
 * from the hourly ones, and the rest, under an hour at each end, from the trail. `coarsest`
 * limits the rollups used (bars that a day or an hour would straddle); an empty range is
 * written as the point where it would be.
 */
export function windowParts(w: { from: Date; to: Date }, coarsest: 'day' | 'hour' | 'none'): Date[] {
  const [from, to] = [w.from.getTime(), w.to.getTime()];
  let [h1, h2] = [ceilTo(from, HOUR_MS), floorTo(to, HOUR_MS)];
  if (coarsest === 'none' || h1 >= h2) h1 = h2 = to;
  let [d1, d2] = [ceilTo(h1, DAY_MS), floorTo(h2, DAY_MS)];
  if (coarsest !== 'day' || d1 >= d2) d1 = d2 = h2;
  return [from, to, h1, h2, d1, d2].map((t) => new Date(t));
}

/** The rollup rows of the window's whole days and hours ($3 to $6, see windowParts). */
const ROLLED = `(span = 'day' AND start >= $5 AND start < $6)
   OR (span = 'hour' AND ((start >= $3 AND start < $5) OR (start >= $6 AND start < $4)))`;

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
 * days and hours and the trail's rows at both edges, one row each.
 */
const decisions = (teams: boolean) => `(
  SELECT start AS at, decision, principal, teams, image, decisions AS n
    FROM decision_rollups WHERE ${ROLLED}
  UNION ALL
  SELECT e.occurred_at, e.decision, e.principal, ${teamsOf(teams)}, e.payload->>'image', 1
  ${trailEdges(teams)})`;

/** The window's reasons, `(decision, principal, teams, rule, n)`, the same way. */
const reasons = (teams: boolean) => `(
  SELECT decision, principal, teams, rule, hits AS n
    FROM decision_rule_rollups WHERE ${ROLLED}
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
  // Bars are aligned on the day (or hour) when they are whole days (or hours) wide, so that
  // no rolled-up day or hour straddles two bars; narrower bars (windows up to ~30 h) are
  // counted from the trail alone.
  const coarsest = w.bucketSeconds % 86_400 === 0 ? 'day' : w.bucketSeconds % 3600 === 0 ? 'hour' : 'none';
  const origin =
    coarsest === 'none' ? w.from : new Date(floorTo(w.from.getTime(), coarsest === 'day' ? DAY_MS : HOUR_MS));
  const whole = windowParts(w, 'day');
  const mine = scope.all ? undefined : [scope.principal, [...scope.teams]];
  const scoped = (at: number) => (mine ? `WHERE (principal = $${at} OR teams && $${at + 1}::text[])` : '');
  const [bars, rules, teams, images] = await Promise.all([
    ds.query(
      `SELECT date_bin(make_interval(secs => $7), at, $8::timestamptz) AS start,
              sum(n) FILTER (WHERE decision = 'allowed')    AS allowed,
              sum(n) FILTER (WHERE decision = 'denied')     AS denied,
              sum(n) FILTER (WHERE decision = 'would-deny') AS would_deny
         FROM ${decisions(!!mine)} d ${scoped(9)}
        GROUP BY 1 ORDER BY 1`,
      [...windowParts(w, coarsest), w.bucketSeconds, origin, ...(mine ?? [])],
    ) as Promise<
      Array<{ start: Date; allowed: string | null; denied: string | null; would_deny: string | null }>
    >,
    ds.query(
      `SELECT rule,
              sum(n) FILTER (WHERE decision = 'denied')     AS denied,
              sum(n) FILTER (WHERE decision = 'would-deny') AS would_deny
         FROM (SELECT * FROM ${reasons(!!mine)} r WHERE decision IN ('denied', 'would-deny')) r ${scoped(7)}
        GROUP BY 1 ORDER BY sum(n) DESC, 1 LIMIT ${TOP}`,
      [...whole, ...(mine ?? [])],
    ) as Promise<Array<{ rule: string; denied: string | null; would_deny: string | null }>>,
    ds.query(
      `SELECT t.team, sum(n) AS denied
         FROM ${decisions(true)} d CROSS JOIN LATERAL unnest(d.teams) AS t(team)
        WHERE d.decision = 'denied' ${mine ? 'AND t.team = ANY($7::text[])' : ''}
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
      [...whole, ...(mine ? [mine[1]] : [])],
    ) as Promise<Array<{ team: string; denied: string }>>,
    ds.query(
      `SELECT image, sum(n) AS denied
         FROM (SELECT * FROM ${decisions(!!mine)} d WHERE decision = 'denied') d ${scoped(7)}
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
      [...whole, ...(mine ?? [])],
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
