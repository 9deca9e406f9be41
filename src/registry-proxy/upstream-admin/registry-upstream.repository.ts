import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type CredentialKind = 'basic' | 'token';

/** An upstream as stored: credentials only sealed (see UpstreamCredentialsBox). */
export interface StoredUpstream {
  alias: string;
  baseUrl: string;
  registry: string;
  dockerHub: boolean;
  credentialKind: CredentialKind | null;
  sealedCredentials: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export type UpstreamFields = Pick<
  StoredUpstream,
  'baseUrl' | 'registry' | 'dockerHub' | 'credentialKind' | 'sealedCredentials'
>;

interface Row {
  alias: string;
  base_url: string;
  registry: string;
  docker_hub: boolean;
  credential_kind: CredentialKind | null;
  credentials: string | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
}

const toStored = (r: Row): StoredUpstream => ({
  alias: r.alias,
  baseUrl: r.base_url,
  registry: r.registry,
  dockerHub: r.docker_hub,
  credentialKind: r.credential_kind,
  sealedCredentials: r.credentials,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  updatedAt: r.updated_at.toISOString(),
  updatedBy: r.updated_by,
});

/** registry_upstreams: the upstreams added through the admin API. */
@Injectable()
export class RegistryUpstreamRepository {
  constructor(private readonly ds: DataSource) {}

  async list(): Promise<StoredUpstream[]> {
    const rows: Row[] = await this.ds.query('SELECT * FROM registry_upstreams ORDER BY alias');
    return rows.map(toStored);
  }

  async find(alias: string): Promise<StoredUpstream | undefined> {
    const rows: Row[] = await this.ds.query('SELECT * FROM registry_upstreams WHERE alias = $1', [alias]);
    return rows[0] && toStored(rows[0]);
  }

  /** Undefined when the alias is taken (the primary key decides, not a prior SELECT). */
  async insert(alias: string, f: UpstreamFields, by: string): Promise<StoredUpstream | undefined> {
    const rows: Row[] = await this.ds.query(
      `INSERT INTO registry_upstreams (alias, base_url, registry, docker_hub, credential_kind, credentials, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (alias) DO NOTHING RETURNING *`,
      [alias, f.baseUrl, f.registry, f.dockerHub, f.credentialKind, f.sealedCredentials, by],
    );
    return rows[0] && toStored(rows[0]);
  }

  /**
   * The row before and after, or undefined when there is no such alias. `keepCredentials`
   * leaves the stored ones in place, decided in the same statement as the rest of the change.
   */
  async update(
    alias: string,
    f: UpstreamFields,
    by: string,
    keepCredentials: boolean,
  ): Promise<{ before: StoredUpstream; after: StoredUpstream } | undefined> {
    return this.ds.transaction(async (m) => {
      const old: Row[] = await m.query('SELECT * FROM registry_upstreams WHERE alias = $1 FOR UPDATE', [
        alias,
      ]);
      if (!old[0]) return undefined;
      // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE … RETURNING.
      const rows: Row[] = await m.query(
        `WITH u AS (UPDATE registry_upstreams SET base_url = $2, registry = $3, docker_hub = $4,
           credential_kind = CASE WHEN $8 THEN credential_kind ELSE $5 END,
           credentials = CASE WHEN $8 THEN credentials ELSE $6 END,
           updated_at = now(), updated_by = $7
         WHERE alias = $1 RETURNING *) SELECT * FROM u`,
        [
          alias,
          f.baseUrl,
          f.registry,
          f.dockerHub,
          f.credentialKind,
          f.sealedCredentials,
          by,
          keepCredentials,
        ],
      );
      return { before: toStored(old[0]), after: toStored(rows[0]) };
    });
  }

  async remove(alias: string): Promise<StoredUpstream | undefined> {
    const rows: Row[] = await this.ds.query(
      'WITH d AS (DELETE FROM registry_upstreams WHERE alias = $1 RETURNING *) SELECT * FROM d',
      [alias],
    );
    return rows[0] && toStored(rows[0]);
  }
}
