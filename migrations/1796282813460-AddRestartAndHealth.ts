import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Restart policies and health checks (issue 15, points 2 and 3): `restarting` is a container
 * whose process ended and whose restart policy starts it again after a backoff;
 * `manually_stopped` remembers a stop or kill by a client (an `unless-stopped` container stays
 * down, also across Warden restarts); `health` is the health check's state as inspect shows
 * it (status, failing streak, the last results).
 */
export class AddRestartAndHealth1796282813460 implements MigrationInterface {
  name = 'AddRestartAndHealth1796282813460';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE containers DROP CONSTRAINT containers_state_check`);
    await q.query(
      `ALTER TABLE containers ADD CONSTRAINT containers_state_check
         CHECK (state IN ('created', 'running', 'paused', 'restarting', 'exited', 'dead'))`,
    );
    await q.query(`ALTER TABLE containers ADD COLUMN manually_stopped boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE containers ADD COLUMN health jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A restarting row has no process: without the state it is what it was, exited.
    await q.query(`UPDATE containers SET state = 'exited' WHERE state = 'restarting'`);
    await q.query(`ALTER TABLE containers DROP CONSTRAINT containers_state_check`);
    await q.query(
      `ALTER TABLE containers ADD CONSTRAINT containers_state_check
         CHECK (state IN ('created', 'running', 'paused', 'exited', 'dead'))`,
    );
    await q.query(`ALTER TABLE containers DROP COLUMN health`);
    await q.query(`ALTER TABLE containers DROP COLUMN manually_stopped`);
  }
}
