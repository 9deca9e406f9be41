import { MigrationInterface, QueryRunner } from 'typeorm';

/** `paused` (issue 17): a running container whose processes are frozen by its cgroup. */
export class AllowPausedContainers1796236776426 implements MigrationInterface {
  name = 'AllowPausedContainers1796236776426';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE containers DROP CONSTRAINT containers_state_check`);
    await q.query(
      `ALTER TABLE containers ADD CONSTRAINT containers_state_check
         CHECK (state IN ('created', 'running', 'paused', 'exited', 'dead'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A paused row is still a running process; without the state it reads as running again.
    await q.query(`UPDATE containers SET state = 'running' WHERE state = 'paused'`);
    await q.query(`ALTER TABLE containers DROP CONSTRAINT containers_state_check`);
    await q.query(
      `ALTER TABLE containers ADD CONSTRAINT containers_state_check
         CHECK (state IN ('created', 'running', 'exited', 'dead'))`,
    );
  }
}
