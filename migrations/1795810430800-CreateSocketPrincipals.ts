import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who a docker-socket peer is: the kernel tells us its uid (SO_PEERCRED), this table names the
 * Warden principal that uid acts as. A uid with no row is refused.
 */
export class CreateSocketPrincipals1795810430800 implements MigrationInterface {
  name = 'CreateSocketPrincipals1795810430800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE socket_principals (
        uid           bigint      PRIMARY KEY CHECK (uid >= 0 AND uid <= 4294967295),
        principal_id  text        NOT NULL REFERENCES principals (id),
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    text        NOT NULL
      )`);
    await q.query(`CREATE INDEX socket_principals_principal ON socket_principals (principal_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE socket_principals`);
  }
}
