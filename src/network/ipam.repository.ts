import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../platform/database';
import { scopeSql, sqlParams, type Scope } from '../platform/scope';
import type { Endpoint } from './network';

interface Row {
  network_id: string;
  network_name: string;
  container_id: string;
  address: string;
  address6: string | null;
  aliases: string[];
}

const toEndpoint = (r: Row): Endpoint => ({
  networkId: r.network_id,
  networkName: r.network_name,
  containerId: r.container_id,
  address: r.address,
  ...(r.address6 ? { address6: r.address6 } : {}),
  aliases: r.aliases,
});

const RETURNING = `RETURNING network_id, container_id, host(address) AS address, host(address6) AS address6,
  aliases, (SELECT name FROM networks WHERE id = network_id) AS network_name`;

/**
 * The next free IPv6 address of network $1's subnet6 (NULL on an IPv4-only network, or when
 * none is left): the lowest above the gateway or one in use, as for IPv4. Chosen in the same
 * INSERT as the IPv4 one; the (network, address6) unique constraint turns a racing allocation
 * into no row, as the IPv4 one does.
 */
const NEXT_ADDRESS6 = `(
  WITH n6 AS (SELECT subnet6, gateway6 FROM networks WHERE id = $1 AND subnet6 IS NOT NULL),
  used6 AS (
    SELECT address6 AS a FROM network_endpoints WHERE network_id = $1 AND address6 IS NOT NULL
    UNION ALL SELECT set_masklen(gateway6, 128) FROM n6
  )
  SELECT min(c.a) FROM (
    SELECT set_masklen(network(subnet6), 128) + 1 AS a FROM n6
    UNION ALL SELECT u.a + 1 FROM used6 u, n6 WHERE u.a < set_masklen(broadcast(n6.subnet6), 128)
  ) c, n6
  WHERE c.a <<= n6.subnet6 AND c.a > set_masklen(network(n6.subnet6), 128)
    AND NOT EXISTS (SELECT 1 FROM used6 u WHERE u.a = c.a))`;

/**
 * The address allocator: PostgreSQL. An address held on a network is a row, unique per
 * (network, address), so no two containers get one address — not two requests racing here,
 * not two Wardens on one database, not a Warden restarted. The next free address is found
 * in the same INSERT (the lowest address above one in use, or the range's first); a racing
 * allocation that took it makes ours insert nothing, and the caller asks again.
 */
@Injectable()
export class IpamRepository {
  private readonly sql: PlainSql;

  constructor(ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  /**
   * The next free address of the network's range (its --ip-range, else its subnet), never the
   * network, broadcast or gateway address. Undefined when another allocation took the address
   * first (ask again) or none is left (see `isFull`).
   */
  async allocateNext(
    networkId: string,
    containerId: string,
    aliases: string[],
  ): Promise<Endpoint | undefined> {
    const rows = await this.sql.rows<Row>(
      `WITH n AS (
         SELECT subnet, gateway, coalesce(ip_range, subnet) AS r FROM networks WHERE id = $1
       ), used AS (
         SELECT address FROM network_endpoints WHERE network_id = $1
         UNION ALL SELECT set_masklen(gateway, 32) FROM n
       ), cand AS (
         SELECT set_masklen(network(n.r), 32) AS a FROM n
         UNION ALL SELECT set_masklen(network(n.r), 32) + 1 FROM n
         UNION ALL SELECT u.address + 1 FROM used u, n WHERE u.address < set_masklen(broadcast(n.subnet), 32)
       )
       INSERT INTO network_endpoints (network_id, container_id, address, aliases, address6)
       SELECT $1, $2, c.a, $3, ${NEXT_ADDRESS6} FROM cand c, n
       WHERE c.a <<= n.r
         AND c.a > set_masklen(network(n.subnet), 32) AND c.a < set_masklen(broadcast(n.subnet), 32)
         AND NOT EXISTS (SELECT 1 FROM used u WHERE u.address = c.a)
       ORDER BY c.a LIMIT 1
       ON CONFLICT DO NOTHING ${RETURNING}`,
      [networkId, containerId, aliases],
    );
    return rows[0] && toEndpoint(rows[0]);
  }

  /** Takes this address; undefined when another container holds it. */
  async allocateStatic(
    networkId: string,
    containerId: string,
    address: string,
    aliases: string[],
  ): Promise<Endpoint | undefined> {
    const rows = await this.sql.rows<Row>(
      `INSERT INTO network_endpoints (network_id, container_id, address, aliases, address6)
       VALUES ($1, $2, set_masklen($3::inet, 32), $4, ${NEXT_ADDRESS6}) ON CONFLICT DO NOTHING ${RETURNING}`,
      [networkId, containerId, address, aliases],
    );
    return rows[0] && toEndpoint(rows[0]);
  }

  /** True when no address of the network's range is free. */
  async isFull(networkId: string): Promise<boolean> {
    const [row] = await this.sql.rows<{ full: boolean }>(
      `SELECT (SELECT count(*) FROM network_endpoints WHERE network_id = n.id) + 3
                >= 2 ^ (32 - masklen(coalesce(n.ip_range, n.subnet))) AS full
       FROM networks n WHERE id = $1`,
      [networkId],
    );
    return row?.full ?? true;
  }

  async ofContainer(containerId: string): Promise<Endpoint[]> {
    const rows = await this.sql.rows<Row>(
      `SELECT e.network_id, n.name AS network_name, e.container_id, host(e.address) AS address,
              host(e.address6) AS address6, e.aliases
       FROM network_endpoints e JOIN networks n ON n.id = e.network_id
       WHERE e.container_id = $1 ORDER BY e.created_at, n.name`,
      [containerId],
    );
    return rows.map(toEndpoint);
  }

  /** Endpoints of many containers at once (listings), keyed by container id. */
  async ofContainers(ids: string[]): Promise<Map<string, Endpoint[]>> {
    const rows = await this.sql.rows<Row>(
      `SELECT e.network_id, n.name AS network_name, e.container_id, host(e.address) AS address,
              host(e.address6) AS address6, e.aliases
       FROM network_endpoints e JOIN networks n ON n.id = e.network_id
       WHERE e.container_id = ANY($1) ORDER BY e.created_at, n.name`,
      [ids],
    );
    const out = new Map<string, Endpoint[]>();
    for (const r of rows) out.set(r.container_id, [...(out.get(r.container_id) ?? []), toEndpoint(r)]);
    return out;
  }

  async ofNetwork(networkId: string, scope: Scope): Promise<Array<Endpoint & { containerName: string }>> {
    const { params, param } = sqlParams(1);
    const scoped = scopeSql(scope, { team: 'c.team', createdBy: 'c.created_by' }, param);
    const rows = await this.sql.rows<Row & { container_name: string }>(
      `SELECT e.network_id, n.name AS network_name, e.container_id, host(e.address) AS address,
              host(e.address6) AS address6, e.aliases,
              c.name AS container_name
       FROM network_endpoints e JOIN networks n ON n.id = e.network_id JOIN containers c ON c.id = e.container_id
       WHERE e.network_id = $1 ${scoped ? `AND ${scoped}` : ''} ORDER BY e.address`,
      [networkId, ...params],
    );
    return rows.map((r) => ({ ...toEndpoint(r), containerName: r.container_name }));
  }

  /** Gives the address back; false when the container was not on the network. */
  async release(networkId: string, containerId: string): Promise<boolean> {
    return (
      (await this.sql.count(`DELETE FROM network_endpoints WHERE network_id = $1 AND container_id = $2`, [
        networkId,
        containerId,
      ])) === 1
    );
  }
}
