import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a pulled image came from: one row per (registry, repository) it was pulled under, by
 * tag or by digest (Docker's RepoDigests). A launch finds a pulled image only under these
 * names or its tags, so a policy that denies the registry it came from denies the launch even
 * though its blobs are cached (issue 5). `pulled_at` also tells prune what was used lately.
 */
export class CreateImageOrigins1795810430610 implements MigrationInterface {
  name = 'CreateImageOrigins1795810430610';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE image_origins (
        registry    text        NOT NULL,
        repository  text        NOT NULL,
        digest      text        NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
        upstream    text        NOT NULL,
        pulled_at   timestamptz NOT NULL DEFAULT now(),
        pulled_by   text        NOT NULL,
        PRIMARY KEY (registry, repository, digest)
      )`);
    await q.query(`CREATE INDEX image_origins_digest ON image_origins (digest)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE image_origins`);
  }
}
