import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../platform/database';
import { scopeSql, sqlParams, type Scope } from '../platform/scope';
import type { NetworkRecord } from './network';

interface Row {
  id: string;
  name: string;
  driver: NetworkRecord['driver'];
  interface: string | null;
  subnet: string | null;
  gateway: string | null;
  ip_range: string | null;
  subnet6: string | null;
  gateway6: string | null;
  internal: boolean;
  dns_enabled: boolean;
  builtin: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  created_by: string;
  team: string | null;
  created_at: Date;
}

const toRecord = (r: Row): NetworkRecord => ({
  id: r.id,
  name: r.name,
  driver: r.driver,
  interface: r.interface ?? undefined,
  subnet: r.subnet ?? undefined,
  gateway: r.gateway ?? undefined,
  ipRange: r.ip_range ?? undefined,
  ...(r.subnet6 ? { subnet6: r.subnet6, gateway6: r.gateway6 ?? undefined } : {}),
  internal: r.internal,
  dnsEnabled: r.dns_enabled,
  builtin: r.builtin,
  labels: r.labels,
  options: r.options,
  createdBy: r.created_by,
  team: r.team,
  createdAt: r.created_at.toISOString(),
});

/** host(gateway): the address without its /32, as Docker and netavark write it. */
const COLUMNS = `id, name, driver, interface, subnet::text, host(gateway) AS gateway, ip_range::text,
  subnet6::text, host(gateway6) AS gateway6, internal, dns_enabled, builtin, labels, options, created_by, team, created_at`;

/** Built-in networks (bridge, host, none) are everyone's; the others their team's. */
function networkScopeSql(scope: Scope, param: (v: unknown) => string): string {
  const owned = scopeSql(scope, { team: 'team', createdBy: 'created_by' }, param);
  return owned ? `(builtin OR ${owned})` : 'true';
}

/** A new network; `subnet` undefined = the first free /24 of `pool`. */
export interface NewNetwork extends Omit<NetworkRecord, 'createdAt' | 'subnet' | 'gateway' | 'gateway6'> {
  subnet?: string;
  gateway?: string;
  /** With subnet6; undefined = its first address. */
  gateway6?: string;
  pool?: string;
}

@Injectable()
export class NetworkRepository {
  private readonly sql: PlainSql;

  constructor(ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  /** The networks the scope sees: the built-in ones, and those its teams (or it) made. */
  async list(scope: Scope): Promise<NetworkRecord[]> {
    const { params, param } = sqlParams();
    const rows = await this.sql.rows<Row>(
      `SELECT ${COLUMNS} FROM networks WHERE ${networkScopeSql(scope, param)} ORDER BY created_at, name`,
      params,
    );
    return rows.map(toRecord);
  }

  /** By full id, name, or a unique id prefix — Docker's lookup order — among what the scope sees. */
  async findByRef(ref: string, scope: Scope): Promise<NetworkRecord[]> {
    const { params, param } = sqlParams(2);
    const rows = await this.sql.rows<Row>(
      `SELECT * FROM (SELECT ${COLUMNS} FROM networks WHERE id = $1 OR name = $1
       UNION SELECT ${COLUMNS} FROM networks WHERE $2 AND id LIKE $1 || '%') n
       WHERE ${networkScopeSql(scope, param)} LIMIT 3`,
      [ref, /^[0-9a-f]{1,63}$/.test(ref), ...params],
    );
    return rows.map(toRecord);
  }

  /**
   * Inserts the network; undefined when the name is taken. A subnet that overlaps another
   * network's fails on the exclusion constraint (SQLSTATE 23P01). Without a subnet, the first
   * /24 of the pool that overlaps none is taken in the same statement, and the gateway is its
   * first address; with the pool used up, the table's check refuses the row (SQLSTATE 23514).
   */
  async insert(n: NewNetwork): Promise<NetworkRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `WITH pick AS (
         SELECT coalesce($5::cidr, (
           SELECT s FROM generate_series(0, (2 ^ (24 - masklen($14::cidr)))::int - 1) i,
             LATERAL (SELECT set_masklen(network($14::cidr) + i * 256, 24)::cidr AS s) x
           WHERE NOT EXISTS (SELECT 1 FROM networks o WHERE o.subnet && x.s) ORDER BY i LIMIT 1)) AS subnet
       )
       INSERT INTO networks (id, name, driver, interface, subnet, gateway, ip_range, internal, dns_enabled,
                             builtin, labels, options, created_by, team, subnet6, gateway6)
       SELECT $1, $2, $3, $4, pick.subnet,
              CASE WHEN pick.subnet IS NULL THEN NULL
                   ELSE coalesce($6::inet, set_masklen(network(pick.subnet), 32) + 1) END,
              $7, $8, $9, $10, $11, $12, $13, $15, $16::cidr,
              CASE WHEN $16::cidr IS NULL THEN NULL
                   ELSE coalesce($17::inet, set_masklen(network($16::cidr), 128) + 1) END
       FROM pick
       ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
      [
        n.id,
        n.name,
        n.driver,
        n.interface ?? null,
        n.subnet ?? null,
        n.gateway ?? null,
        n.ipRange ?? null,
        n.internal,
        n.dnsEnabled,
        n.builtin,
        JSON.stringify(n.labels),
        JSON.stringify(n.options),
        n.createdBy,
        n.pool ?? '0.0.0.0/32',
        n.team,
        n.subnet6 ?? null,
        n.gateway6 ?? null,
      ],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Removes the network when no container holds an address on it; false otherwise. */
  async deleteUnused(id: string): Promise<boolean> {
    return (
      (await this.sql.count(
        `DELETE FROM networks n WHERE id = $1 AND NOT builtin
           AND NOT EXISTS (SELECT 1 FROM network_endpoints e WHERE e.network_id = n.id)`,
        [id],
      )) === 1
    );
  }

  /** Every user network no container is on, removed; their records. */
  async pruneUnused(labels: Array<[string, string | undefined]>, scope: Scope): Promise<NetworkRecord[]> {
    const { params, param } = sqlParams(2);
    const rows = await this.sql.rows<Row>(
      `DELETE FROM networks n WHERE NOT builtin
         AND NOT EXISTS (SELECT 1 FROM network_endpoints e WHERE e.network_id = n.id)
         AND labels @> $1::jsonb AND labels ?& $2::text[] AND ${networkScopeSql(scope, param)}
       RETURNING ${COLUMNS}`,
      [
        JSON.stringify(Object.fromEntries(labels.filter(([, v]) => v !== undefined))),
        labels.map(([k]) => k),
        ...params,
      ],
    );
    return rows.map(toRecord);
  }
}
