import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registry upstreams added through the admin API (issue 5); those from
 * WARDEN_REGISTRY_UPSTREAMS stay in the environment. Credentials are stored sealed
 * (AES-256-GCM, key file on the node; see src/platform/secrets): never in clear, and the kind
 * is kept beside them so answers can say what is configured without opening it.
 */
export class CreateRegistryUpstreams1795810431100 implements MigrationInterface {
  name = 'CreateRegistryUpstreams1795810431100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_upstreams (
        alias            text        PRIMARY KEY,
        base_url         text        NOT NULL,
        registry         text        NOT NULL,
        docker_hub       boolean     NOT NULL,
        credential_kind  text        CHECK (credential_kind IN ('basic', 'token')),
        credentials      text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        created_by       text        NOT NULL,
        updated_at       timestamptz NOT NULL DEFAULT now(),
        updated_by       text        NOT NULL,
        CHECK ((credential_kind IS NULL) = (credentials IS NULL))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE registry_upstreams`);
  }
}
