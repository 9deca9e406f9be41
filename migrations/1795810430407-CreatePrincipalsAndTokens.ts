import { MigrationInterface, QueryRunner } from 'typeorm';

/** Principals (who acts) and their API tokens, stored only as sha256 of the secret. */
export class CreatePrincipalsAndTokens1795810430407 implements MigrationInterface {
  name = 'CreatePrincipalsAndTokens1795810430407';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE principals (
        id          text        PRIMARY KEY,
        kind        text        NOT NULL CHECK (kind IN ('user', 'service', 'builtin')),
        role        text        NOT NULL CHECK (role IN ('admin', 'deployer', 'auditor')),
        teams       text[]      NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text
      )`);
    await q.query(`
      CREATE TABLE api_tokens (
        id            uuid        PRIMARY KEY,
        principal_id  text        NOT NULL REFERENCES principals (id),
        name          text        NOT NULL,
        token_hash    char(64)    NOT NULL UNIQUE,
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    text        NOT NULL,
        expires_at    timestamptz,
        revoked_at    timestamptz,
        revoked_by    text
      )`);
    await q.query(`CREATE INDEX api_tokens_principal ON api_tokens (principal_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_tokens`);
    await q.query(`DROP TABLE principals`);
  }
}
