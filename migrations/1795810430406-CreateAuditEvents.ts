import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: one row per event, chained by hash in `seq` order. Rows are written by
 * the audit workers only and never changed: the trigger refuses UPDATE, DELETE and TRUNCATE,
 * so an edit needs the trigger dropped first — and `/audit/verify` then names the row.
 */
export class CreateAuditEvents1795810430406 implements MigrationInterface {
  name = 'CreateAuditEvents1795810430406';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        seq          bigint      NOT NULL UNIQUE,
        id           uuid        PRIMARY KEY,
        type         text        NOT NULL,
        occurred_at  timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now(),
        principal    text        NOT NULL,
        source       jsonb       NOT NULL,
        subject      text,
        decision     text,
        policy_hash  text,
        payload      jsonb       NOT NULL,
        prev_hash    char(64)    NOT NULL,
        hash         char(64)    NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at, seq)`);
    await q.query(`CREATE INDEX audit_events_type ON audit_events (type, seq)`);
    await q.query(`CREATE INDEX audit_events_principal ON audit_events (principal, seq)`);
    await q.query(`CREATE INDEX audit_events_subject ON audit_events (subject, seq)`);
    await q.query(`
      CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events rows are append-only (% refused)', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_refuse_change()`);
  }
}
