import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exec decisions join policy replay (issue 15): each exec a principal asked for, as the policy
 * saw it (the variables it sets by name only: values may be secrets), with the decision made.
 * The id is the exec's own, which names its audit rows and its recorded transcript.
 */
export class CreateExecRequests1796287400000 implements MigrationInterface {
  name = 'CreateExecRequests1796287400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exec_requests (
        id               char(64)    PRIMARY KEY,
        principal        text        NOT NULL,
        principal_teams  text[]      NOT NULL DEFAULT '{}',
        spec             jsonb       NOT NULL,
        decision         jsonb       NOT NULL,
        policy_version   char(64),
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX exec_requests_created_at ON exec_requests (created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE exec_requests`);
  }
}
