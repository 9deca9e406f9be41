import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../platform/database';
import { scopeSql } from '../platform/scope';
import type { VolumeFilter, VolumeRecord } from './volume';

interface Row {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  size_bytes: string | null;
  anonymous: boolean;
  created_by: string;
  team: string | null;
  created_at: Date;
}

const toRecord = (r: Row): VolumeRecord => ({
  name: r.name,
  driver: r.driver,
  options: r.options,
  labels: r.labels,
  sizeBytes: r.size_bytes === null ? undefined : Number(r.size_bytes),
  anonymous: r.anonymous,
  createdBy: r.created_by,
  team: r.team,
  createdAt: r.created_at.toISOString(),
});

/** Volumes and their mounts in PostgreSQL; the files are the local driver's. */
@Injectable()
export class VolumeRepository {
  private readonly sql: PlainSql;

  constructor(ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  /** The new volume, or undefined when one of that name exists already. */
  async insert(v: VolumeRecord): Promise<VolumeRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `INSERT INTO volumes (name, driver, options, labels, size_bytes, anonymous, created_by, team)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [
        v.name,
        v.driver,
        JSON.stringify(v.options),
        JSON.stringify(v.labels),
        v.sizeBytes ?? null,
        v.anonymous,
        v.createdBy,
        v.team,
      ],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async get(name: string): Promise<VolumeRecord | undefined> {
    const rows = await this.sql.rows<Row>('SELECT * FROM volumes WHERE name = $1', [name]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(f: VolumeFilter = {}): Promise<VolumeRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    // Docker's name filter matches a part of the name.
    if (f.names?.length) where.push(`(${f.names.map((n) => `strpos(name, ${p(n)}) > 0`).join(' OR ')})`);
    for (const [k, v] of f.labels ?? [])
      where.push(v === undefined ? `labels ? ${p(k)}` : `labels @> ${p(JSON.stringify({ [k]: v }))}::jsonb`);
    if (f.drivers?.length) where.push(`driver = ANY(${p(f.drivers)})`);
    if (f.anonymousOnly) where.push('anonymous');
    const scoped = f.scope && scopeSql(f.scope, { team: 'team', createdBy: 'created_by' }, p);
    if (scoped) where.push(scoped);
    if (f.dangling !== undefined)
      where.push(
        `${f.dangling ? 'NOT ' : ''}EXISTS (SELECT 1 FROM container_volumes m WHERE m.volume_name = volumes.name)`,
      );
    const rows = await this.sql.rows<Row>(
      `SELECT * FROM volumes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name`,
      params,
    );
    return rows.map(toRecord);
  }

  /** Ids of the containers that mount the volume. */
  async usedBy(name: string): Promise<string[]> {
    const rows = await this.sql.rows<{ container_id: string }>(
      'SELECT container_id FROM container_volumes WHERE volume_name = $1 ORDER BY container_id',
      [name],
    );
    return rows.map((r) => r.container_id);
  }

  /** The volumes each of these containers mounts, with their sizes (undefined: a plain directory). */
  async mountedBy(
    containerIds: readonly string[],
  ): Promise<Array<{ containerId: string; name: string; sizeBytes?: number }>> {
    if (containerIds.length === 0) return [];
    const rows = await this.sql.rows<{ container_id: string; name: string; size_bytes: string | null }>(
      `SELECT cv.container_id, v.name, v.size_bytes
         FROM container_volumes cv JOIN volumes v ON v.name = cv.volume_name
        WHERE cv.container_id = ANY($1::text[]) ORDER BY cv.container_id, v.name`,
      [containerIds],
    );
    return rows.map((r) => ({
      containerId: r.container_id,
      name: r.name,
      sizeBytes: r.size_bytes === null ? undefined : Number(r.size_bytes),
    }));
  }

  /** How many containers mount each volume. */
  async refCounts(): Promise<Map<string, number>> {
    const rows = await this.sql.rows<{ volume_name: string; n: string }>(
      'SELECT volume_name, count(*) AS n FROM container_volumes GROUP BY volume_name',
    );
    return new Map(rows.map((r) => [r.volume_name, Number(r.n)]));
  }

  /**
   * Deletes the volume unless a container mounts it; in one statement, so a create that
   * attaches it meanwhile either comes first (and the volume stays) or finds it gone.
   */
  async deleteUnused(name: string): Promise<VolumeRecord | undefined> {
    const rows = await this.sql.rows<Row>(
      `DELETE FROM volumes WHERE name = $1
         AND NOT EXISTS (SELECT 1 FROM container_volumes WHERE volume_name = $1) RETURNING *`,
      [name],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async attach(
    containerId: string,
    mounts: ReadonlyArray<{ name: string; target: string; readOnly: boolean }>,
  ): Promise<void> {
    if (mounts.length === 0) return;
    await this.sql.rows(
      `INSERT INTO container_volumes (container_id, volume_name, target, read_only)
       SELECT $1, m.name, m.target, m.read_only
       FROM unnest($2::text[], $3::text[], $4::boolean[]) AS m (name, target, read_only)`,
      [containerId, mounts.map((m) => m.name), mounts.map((m) => m.target), mounts.map((m) => m.readOnly)],
    );
  }
}
