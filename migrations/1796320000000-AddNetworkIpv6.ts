import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * IPv6 on user-defined networks (`docker network create --ipv6 --subnet fd00:…/64`): a second,
 * IPv6 subnet and gateway per network, never overlapping another network's (an exclusion
 * constraint, as for IPv4), and a container's IPv6 address beside its IPv4 one, unique per
 * network as the IPv4 address is.
 */
export class AddNetworkIpv61796320000000 implements MigrationInterface {
  name = 'AddNetworkIpv61796320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE networks
        ADD COLUMN subnet6  cidr,
        ADD COLUMN gateway6 inet,
        ADD CONSTRAINT networks_ipv6 CHECK (
          (subnet6 IS NULL) = (gateway6 IS NULL)
          AND (subnet6 IS NULL OR (family(subnet6) = 6 AND gateway6 << subnet6 AND subnet IS NOT NULL))),
        ADD CONSTRAINT networks_subnet6_overlap EXCLUDE USING gist (subnet6 inet_ops WITH &&)`);
    await q.query(`
      ALTER TABLE network_endpoints
        ADD COLUMN address6 inet,
        ADD CONSTRAINT network_endpoints_address6 UNIQUE (network_id, address6)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE network_endpoints DROP COLUMN address6`);
    await q.query(`ALTER TABLE networks DROP COLUMN gateway6, DROP COLUMN subnet6`);
  }
}
