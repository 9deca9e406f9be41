import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A launch judged on one node and run on another (issue 18, point 2): the node it was sent to
 * and how far it got. The target claims it with a guarded UPDATE (queued → claimed) before it
 * creates anything, so a job delivered twice (its worker died, BullMQ handed it out again)
 * creates at most one container; `container_id` is set once it exists.
 */
export class AddLaunchDispatch1796313100000 implements MigrationInterface {
  name = 'AddLaunchDispatch1796313100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE launch_requests
        ADD COLUMN dispatch_node  text,
        ADD COLUMN dispatch_state text CHECK (dispatch_state IN ('queued', 'claimed', 'done', 'failed')),
        ADD COLUMN container_id   char(64)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE launch_requests
        DROP COLUMN container_id, DROP COLUMN dispatch_state, DROP COLUMN dispatch_node`);
  }
}
