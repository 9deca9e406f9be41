import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Policies (issue 3): named policies with one active version, immutable versions keyed by
 * the sha256 of their canonical document, bindings to principals / teams / everyone,
 * exceptions (waivers with an approver and an expiry), and the launch requests every
 * recorded decision was made on, kept so a candidate policy can be replayed over them.
 */
export class CreatePolicies1795810430500 implements MigrationInterface {
  name = 'CreatePolicies1795810430500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE policies (
        name            text        PRIMARY KEY,
        active_version  char(64),
        created_by      text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE policy_versions (
        id           char(64)    PRIMARY KEY,
        seq          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
        policy_name  text        NOT NULL REFERENCES policies (name),
        document     jsonb       NOT NULL,
        created_by   text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (policy_name, id)
      )`);
    // Composite key: a policy can only activate one of its own versions.
    await q.query(`
      ALTER TABLE policies ADD CONSTRAINT policies_active_version_fk
        FOREIGN KEY (name, active_version) REFERENCES policy_versions (policy_name, id)`);
    // The version id is the hash of the document: editing a row would make the id a lie,
    // and deleting one would orphan the decisions that cite it.
    await q.query(`
      CREATE FUNCTION policy_versions_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'policy_versions rows are immutable (% refused); create a new version instead', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE ON policy_versions
      FOR EACH ROW EXECUTE FUNCTION policy_versions_refuse_change()`);

    // (kind, value) is unique across policies: a principal, a team or everyone is bound to
    // at most one policy, so only a principal in several bound teams can be ambiguous.
    await q.query(`
      CREATE TABLE policy_bindings (
        id           uuid        PRIMARY KEY,
        policy_name  text        NOT NULL REFERENCES policies (name),
        kind         text        NOT NULL CHECK (kind IN ('principal', 'team', 'everyone')),
        value        text        NOT NULL CHECK (value <> '' AND (kind <> 'everyone' OR value = '*')),
        created_by   text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (kind, value)
      )`);
    await q.query(`CREATE INDEX policy_bindings_policy ON policy_bindings (policy_name)`);

    await q.query(`
      CREATE TABLE policy_exceptions (
        id                   uuid        PRIMARY KEY,
        rule                 text        NOT NULL,
        principal_id         text,
        team                 text,
        image_repository     text,
        image_digest         text,
        requester            text        NOT NULL,
        approver             text        NOT NULL,
        ticket               text        NOT NULL,
        expires_at           timestamptz NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        expired_recorded_at  timestamptz,
        CONSTRAINT policy_exceptions_four_eyes CHECK (requester <> approver),
        CONSTRAINT policy_exceptions_scope CHECK (principal_id IS NOT NULL OR team IS NOT NULL),
        CONSTRAINT policy_exceptions_image CHECK (image_repository IS NOT NULL OR image_digest IS NOT NULL)
      )`);
    // The expiry sweep looks only at exceptions whose expiry has not been recorded yet.
    await q.query(`
      CREATE INDEX policy_exceptions_pending_expiry ON policy_exceptions (expires_at)
        WHERE expired_recorded_at IS NULL`);

    await q.query(`
      CREATE TABLE launch_requests (
        id               uuid        PRIMARY KEY,
        principal        text        NOT NULL,
        principal_teams  text[]      NOT NULL DEFAULT '{}',
        request          jsonb       NOT NULL,
        spec             jsonb       NOT NULL,
        decision         jsonb       NOT NULL,
        policy_version   char(64),
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX launch_requests_created_at ON launch_requests (created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE launch_requests`);
    await q.query(`DROP TABLE policy_exceptions`);
    await q.query(`DROP TABLE policy_bindings`);
    await q.query(`ALTER TABLE policies DROP CONSTRAINT policies_active_version_fk`);
    await q.query(`DROP TABLE policy_versions`);
    await q.query(`DROP FUNCTION policy_versions_refuse_change()`);
    await q.query(`DROP TABLE policies`);
  }
}
