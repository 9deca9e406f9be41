import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Team scoping (issue 14 point 4): the team that owns each container, volume and network
 * (null: only its creator, and admins and auditors, see it), and who may see each image. An
 * image is one row per digest whoever imported or pulled it, so its owners are rows of their
 * own: a team, a principal without a team, or everyone (`shared`: an admin's import or pull
 * without a team, the platform's own images, which every principal may run and only admins
 * may remove).
 *
 * Rows made before this get their creator's first team; images made by admins (or by
 * principals no longer known) become shared, which is what every principal could do with
 * them until now.
 */
export class AddTeamOwnership1796282737227 implements MigrationInterface {
  name = 'AddTeamOwnership1796282737227';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['containers', 'volumes', 'networks']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN team text`);
      await q.query(
        `UPDATE ${table} t SET team = p.teams[1] FROM principals p
          WHERE p.id = t.created_by AND cardinality(p.teams) > 0`,
      );
      await q.query(`CREATE INDEX ${table}_team ON ${table} (team, created_by)`);
    }
    await q.query(`
      CREATE TABLE image_owners (
        digest      text        NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
        team        text,
        created_by  text        NOT NULL,
        shared      boolean     NOT NULL DEFAULT false,
        added_at    timestamptz NOT NULL DEFAULT now(),
        CHECK (NOT (shared AND team IS NOT NULL))
      )`);
    // One row per owner: a team, a principal on its own, or "shared".
    await q.query(
      `CREATE UNIQUE INDEX image_owners_team ON image_owners (digest, team) WHERE team IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX image_owners_principal ON image_owners (digest, created_by)
        WHERE team IS NULL AND NOT shared`,
    );
    await q.query(`CREATE UNIQUE INDEX image_owners_shared ON image_owners (digest) WHERE shared`);
    await q.query(`
      WITH makers AS (
        SELECT digest, created_by FROM images
        UNION SELECT digest, pulled_by FROM image_origins
      )
      INSERT INTO image_owners (digest, team, created_by, shared)
      SELECT m.digest,
             p.teams[1],
             m.created_by,
             p.id IS NULL OR (p.role = 'admin' AND cardinality(p.teams) = 0)
        FROM makers m LEFT JOIN principals p ON p.id = m.created_by
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE image_owners`);
    for (const table of ['containers', 'volumes', 'networks']) {
      await q.query(`DROP INDEX ${table}_team`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN team`);
    }
  }
}
