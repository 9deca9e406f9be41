import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The fleet (issue 18, point 2): every Warden node that has registered on this database, with
 * what it offers and when it was first and last seen. Liveness itself is a Redis key with a
 * TTL (src/fleet); this table is the record that outlives it, so a node that is down is still
 * listed, with its last heartbeat.
 */
export class CreateNodes1796313000000 implements MigrationInterface {
  name = 'CreateNodes1796313000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE nodes (
        name          text        PRIMARY KEY,
        address       text,
        version       text        NOT NULL,
        cpus          integer     NOT NULL CHECK (cpus > 0),
        memory_bytes  bigint      NOT NULL CHECK (memory_bytes > 0),
        started_at    timestamptz NOT NULL,
        first_seen    timestamptz NOT NULL DEFAULT now(),
        last_seen     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE nodes`);
  }
}
