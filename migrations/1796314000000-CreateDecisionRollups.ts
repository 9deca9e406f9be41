import { MigrationInterface, QueryRunner } from 'typeorm';

/** The chain's advisory lock (AuditEventRepository's CHAIN_LOCK): no append runs meanwhile. */
const CHAIN_LOCK = 0x5741_5244;

/**
 * Adds the `policy.decision` rows of `rows` (a relation with audit_events' columns) to the
 * rollups, once for their UTC hour and once for their UTC day. What a decision is counted by
 * is what the console's overview groups it by when it reads the trail itself
 * (src/console/decision-aggregates.ts, which must stay the same): its decision, principal,
 * the teams its launch request recorded, its image, and each reason's rule.
 */
function rollUp(rows: string): string {
  return `
    WITH facts AS (
      SELECT e.occurred_at, e.decision, e.principal, coalesce(lr.principal_teams, '{}'::text[]) AS teams,
             e.payload->>'image' AS image, e.payload->'decision'->'reasons' AS reasons
        FROM ${rows} e
        -- A value that is not a uuid names no request (a cast would fail the whole append; a
        -- pattern, not pg_input_is_valid, so PostgreSQL 15 as Debian 12 ships it will do).
        LEFT JOIN launch_requests lr
          ON lr.id = CASE WHEN e.payload->>'launchRequestId' ~* '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'
                          THEN (e.payload->>'launchRequestId')::uuid END
       WHERE e.type = 'policy.decision'),
    spans AS (
      SELECT s.span, date_bin(s.width, f.occurred_at, timestamptz '2000-01-01 00:00:00+00') AS start,
             f.decision, f.principal, f.teams, f.image, f.reasons
        FROM facts f CROSS JOIN (VALUES ('hour', interval '1 hour'), ('day', interval '1 day')) AS s(span, width)),
    decisions AS (
      INSERT INTO decision_rollups AS r (span, start, decision, principal, teams, image, decisions)
      SELECT span, start, decision, principal, teams, image, count(*) FROM spans GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT (span, start, decision, principal, teams, image)
      DO UPDATE SET decisions = r.decisions + excluded.decisions)
    INSERT INTO decision_rule_rollups AS r (span, start, decision, principal, teams, rule, hits)
    SELECT f.span, f.start, f.decision, f.principal, f.teams, x->>'rule', count(*)
      FROM spans f
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(f.reasons) = 'array' THEN f.reasons END) x
     GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (span, start, decision, principal, teams, rule) DO UPDATE SET hits = r.hits + excluded.hits`;
}

/**
 * Per-hour and per-day rollups of policy decisions (issue 19): a 30-day overview is nearly
 * the whole trail, which no index narrows, so the console reads these for whole days and
 * hours and the trail only for a window's partial first and last hours.
 *
 * They are kept by a statement trigger on audit_events, in the transaction that appends the
 * rows (the transition table holds exactly the rows inserted, after ON CONFLICT), so they
 * agree with the trail at every commit, whichever writer appended. Rows already in the trail
 * are added here, under the chain lock, so no append falls between the backfill and the
 * trigger. The rollups are derived figures, not evidence: the trail and its reports are.
 */
export class CreateDecisionRollups1796314000000 implements MigrationInterface {
  name = 'CreateDecisionRollups1796314000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
    // NULLS NOT DISTINCT: a decision without an image or a reason without a rule is one group.
    await q.query(`
      CREATE TABLE decision_rollups (
        span       text        NOT NULL CHECK (span IN ('hour', 'day')),
        start      timestamptz NOT NULL,
        decision   text,
        principal  text        NOT NULL,
        teams      text[]      NOT NULL,
        image      text,
        decisions  bigint      NOT NULL,
        CONSTRAINT decision_rollups_key UNIQUE NULLS NOT DISTINCT (span, start, decision, principal, teams, image)
      )`);
    await q.query(`
      CREATE TABLE decision_rule_rollups (
        span       text        NOT NULL CHECK (span IN ('hour', 'day')),
        start      timestamptz NOT NULL,
        decision   text,
        principal  text        NOT NULL,
        teams      text[]      NOT NULL,
        rule       text,
        hits       bigint      NOT NULL,
        CONSTRAINT decision_rule_rollups_key UNIQUE NULLS NOT DISTINCT (span, start, decision, principal, teams, rule)
      )`);
    await q.query(`
      CREATE FUNCTION audit_events_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${rollUp('inserted')};
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_roll_up AFTER INSERT ON audit_events
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_roll_up()`);
    await q.query(rollUp('audit_events'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_events_roll_up ON audit_events`);
    await q.query(`DROP FUNCTION audit_events_roll_up()`);
    await q.query(`DROP TABLE decision_rule_rollups`);
    await q.query(`DROP TABLE decision_rollups`);
  }
}
