import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Volumes (issue 17) and which container mounts which. A volume in use cannot go: the mount
 * rows reference it (RESTRICT), and they go with their container (CASCADE), so "in use" is
 * the database's answer, not a check that races a create.
 */
export class CreateVolumes1796233770874 implements MigrationInterface {
  name = 'CreateVolumes1796233770874';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE volumes (
        name        text        PRIMARY KEY,
        driver      text        NOT NULL,
        options     jsonb       NOT NULL DEFAULT '{}',
        labels      jsonb       NOT NULL DEFAULT '{}',
        size_bytes  bigint,
        anonymous   boolean     NOT NULL DEFAULT false,
        created_by  text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX volumes_labels ON volumes USING gin (labels)`);
    await q.query(`
      CREATE TABLE container_volumes (
        container_id char(64) NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
        volume_name  text     NOT NULL REFERENCES volumes (name) ON DELETE RESTRICT,
        target       text     NOT NULL,
        read_only    boolean  NOT NULL,
        PRIMARY KEY (container_id, target)
      )`);
    await q.query(`CREATE INDEX container_volumes_volume ON container_volumes (volume_name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE container_volumes`);
    await q.query(`DROP TABLE volumes`);
  }
}
