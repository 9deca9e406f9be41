import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Containers Warden runs: what was asked and decided (the effective spec after policy
 * defaults), where it runs (pid, shim pid, node), and how it ended. A removed container's
 * row goes; its story stays in the audit trail.
 */
export class CreateContainers1795810430700 implements MigrationInterface {
  name = 'CreateContainers1795810430700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE containers (
        id             char(64)    PRIMARY KEY,
        name           text        NOT NULL UNIQUE,
        image          text        NOT NULL,
        image_digest   text,
        spec           jsonb       NOT NULL,
        options        jsonb       NOT NULL DEFAULT '{}',
        policy_version text,
        decision_id    uuid,
        state          text        NOT NULL CHECK (state IN ('created', 'running', 'exited', 'dead')),
        pid            integer,
        shim_pid       integer,
        node           text        NOT NULL,
        exit_code      integer,
        oom_killed     boolean     NOT NULL DEFAULT false,
        error          text,
        restart_count  integer     NOT NULL DEFAULT 0,
        created_by     text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        started_at     timestamptz,
        finished_at    timestamptz,
        labels         jsonb       NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX containers_state ON containers (node, state)`);
    await q.query(`CREATE INDEX containers_labels ON containers USING gin (labels)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE containers`);
  }
}
