import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Images in the content store: one row per manifest (its digest is the image's identity),
 * the names pointing at it, and its layers in order. Blobs themselves live on disk under
 * store/blobs/sha256; these rows are what keeps a blob referenced.
 */
export class CreateImages1795810430600 implements MigrationInterface {
  name = 'CreateImages1795810430600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE images (
        digest         text        PRIMARY KEY,
        config_digest  text        NOT NULL,
        media_type     text        NOT NULL,
        size           bigint      NOT NULL,
        os             text        NOT NULL,
        architecture   text        NOT NULL,
        variant        text,
        image_created  timestamptz,
        config         jsonb       NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        created_by     text        NOT NULL
      )`);
    await q.query(`
      CREATE TABLE image_tags (
        registry    text        NOT NULL,
        repository  text        NOT NULL,
        tag         text        NOT NULL,
        digest      text        NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (registry, repository, tag)
      )`);
    await q.query(`CREATE INDEX image_tags_digest ON image_tags (digest)`);
    await q.query(`
      CREATE TABLE image_layers (
        manifest_digest  text    NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
        idx              integer NOT NULL,
        blob_digest      text    NOT NULL,
        diff_id          text    NOT NULL,
        media_type       text    NOT NULL,
        size             bigint  NOT NULL,
        PRIMARY KEY (manifest_digest, idx)
      )`);
    // Removal asks "does any other image still use this blob?".
    await q.query(`CREATE INDEX image_layers_blob ON image_layers (blob_digest)`);
    await q.query(`CREATE INDEX images_config ON images (config_digest)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE image_layers`);
    await q.query(`DROP TABLE image_tags`);
    await q.query(`DROP TABLE images`);
  }
}
