import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated reports and their files. Files live in Postgres, not on one node's disk, so any
 * API node serves a report a worker on another node generated.
 */
export class CreateReports1795810431000 implements MigrationInterface {
  name = 'CreateReports1795810431000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reports (
        id            uuid        PRIMARY KEY,
        kind          text        NOT NULL,
        params        jsonb       NOT NULL,
        status        text        NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        requested_by  text        NOT NULL,
        requested_at  timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        error         text
      )`);
    await q.query(`
      CREATE TABLE report_files (
        report_id     uuid        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        name          text        NOT NULL,
        content_type  text        NOT NULL,
        data          bytea       NOT NULL,
        sha256        char(64)    NOT NULL,
        PRIMARY KEY (report_id, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE report_files`);
    await q.query(`DROP TABLE reports`);
  }
}
