import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Networks and the addresses containers hold on them (src/network). The allocator is the
 * database: one address per network is one row, so two containers can never get the same
 * address, whichever Warden on whichever node allocates it; subnets of two networks never
 * overlap (an exclusion constraint), so neither can their bridges' routes.
 */
export class CreateNetworks1796233597437 implements MigrationInterface {
  name = 'CreateNetworks1796233597437';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE networks (
        id          char(64)    PRIMARY KEY,
        name        text        NOT NULL UNIQUE,
        driver      text        NOT NULL CHECK (driver IN ('bridge', 'host', 'null')),
        interface   text        UNIQUE,
        subnet      cidr,
        gateway     inet,
        ip_range    cidr,
        internal    boolean     NOT NULL DEFAULT false,
        dns_enabled boolean     NOT NULL DEFAULT false,
        builtin     boolean     NOT NULL DEFAULT false,
        labels      jsonb       NOT NULL DEFAULT '{}',
        options     jsonb       NOT NULL DEFAULT '{}',
        created_by  text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CHECK ((driver = 'bridge') = (subnet IS NOT NULL AND gateway IS NOT NULL AND interface IS NOT NULL)),
        CHECK (gateway IS NULL OR gateway << subnet),
        CHECK (ip_range IS NULL OR ip_range <<= subnet),
        EXCLUDE USING gist (subnet inet_ops WITH &&)
      )`);
    await q.query(`
      CREATE TABLE network_endpoints (
        network_id   char(64) NOT NULL REFERENCES networks (id),
        container_id char(64) NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
        address      inet     NOT NULL,
        aliases      text[]   NOT NULL DEFAULT '{}',
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (network_id, container_id),
        UNIQUE (network_id, address)
      )`);
    await q.query(`CREATE INDEX network_endpoints_container ON network_endpoints (container_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE network_endpoints`);
    await q.query(`DROP TABLE networks`);
  }
}
