import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { scopeSql, sqlParams, type Scope } from '../platform/scope';

/** A container is oversized when its peak stays under this share of its memory cap. */
export const RIGHT_SIZING_SHARE = 0.25;

export interface ContainerUsage {
  containerId: string;
  name: string;
  image: string;
  team: string | null;
  labels: Record<string, string>;
  cpuSeconds: number;
  memoryPeakBytes: number;
  memoryCapBytes: number | null;
  /** peak / cap, null without a cap. */
  capShare: number | null;
  oversized: boolean;
  oomKills: number;
  /** Block I/O in the window (blkio / io.stat); null where the host recorded none for it. */
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
  /** The most its volumes held in a sample of the window; null: no volume measured. */
  volumeBytes: number | null;
}

export interface UsageGroup {
  key: string;
  containers: number;
  cpuSeconds: number;
  memoryPeakBytes: number;
  memoryCapBytes: number;
  oomKills: number;
  /** Containers whose peak stayed under 25% of their cap. */
  oversized: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  /** The containers' volume peaks summed. */
  volumeBytes: number;
}

interface Row {
  container_id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  cpu_ns: string;
  peak: string;
  ooms: string;
  io_read: string | null;
  io_write: string | null;
  volume_bytes: string | null;
  cap: string | null;
  team: string | null;
}

/**
 * Usage per container over a window, with the memory cap each ran under, grouped by team,
 * image or any label. CPU and OOM kills are the increase between consecutive samples of a
 * run (the usage_hourly view's rule), so a window counts only what happened inside it. The
 * cap is the live row's, or for a removed container the one its creation recorded.
 */
@Injectable()
export class UsageBreakdownRepository {
  constructor(private readonly ds: DataSource) {}

  /** `scope`: only containers it sees (a removed one by the team its creation recorded). */
  async containers(from: Date, to: Date, scope?: Scope): Promise<ContainerUsage[]> {
    const { params, param } = sqlParams(2);
    const scoped =
      scope &&
      scopeSql(
        scope,
        { team: `coalesce(c.team, cr.payload->>'team')`, createdBy: 'coalesce(c.created_by, cr.principal)' },
        param,
      );
    const rows: Row[] = await this.ds.query(
      `WITH ids AS (
         SELECT DISTINCT container_id FROM usage_samples WHERE sampled_at >= $1 AND sampled_at < $2
       ), d AS (
         SELECT s.*, lag(cpu_ns) OVER run AS prev_cpu, lag(oom_kills) OVER run AS prev_oom,
                lag(io_read_bytes) OVER run AS prev_io_read, lag(io_write_bytes) OVER run AS prev_io_write
           FROM usage_samples s JOIN ids USING (container_id)
         WINDOW run AS (PARTITION BY s.container_id, s.pid ORDER BY s.sampled_at, s.final)
       ), per AS (
         SELECT container_id, max(container_name) AS name, max(image) AS image,
                (array_agg(labels ORDER BY sampled_at DESC))[1] AS labels,
                sum(CASE WHEN prev_cpu IS NULL OR cpu_ns < prev_cpu THEN cpu_ns ELSE cpu_ns - prev_cpu END) AS cpu_ns,
                max(coalesce(memory_peak_bytes, working_set_bytes)) AS peak,
                sum(greatest(coalesce(oom_kills, 0) - coalesce(prev_oom, 0), 0)) AS ooms,
                sum(CASE WHEN prev_io_read IS NULL OR io_read_bytes < prev_io_read THEN io_read_bytes
                         ELSE io_read_bytes - prev_io_read END) AS io_read,
                sum(CASE WHEN prev_io_write IS NULL OR io_write_bytes < prev_io_write THEN io_write_bytes
                         ELSE io_write_bytes - prev_io_write END) AS io_write,
                max(volume_bytes) AS volume_bytes
           FROM d WHERE sampled_at >= $1 AND sampled_at < $2
          GROUP BY container_id
       )
       SELECT per.*, coalesce(c.spec->>'memoryBytes', cr.payload->'spec'->>'memoryBytes') AS cap,
              coalesce(c.team, cr.payload->>'team') AS team
         FROM per
         LEFT JOIN containers c ON c.id = per.container_id
         LEFT JOIN LATERAL (SELECT payload, principal FROM audit_events e
                             WHERE c.id IS NULL AND e.subject = per.container_id AND e.type = 'container.created'
                             ORDER BY e.seq LIMIT 1) cr ON true
        ${scoped ? `WHERE ${scoped}` : ''}
        ORDER BY per.cpu_ns DESC, per.container_id`,
      [from, to, ...params],
    );
    return rows.map((r) => {
      const cap = r.cap === null ? null : Number(r.cap);
      const peak = Number(r.peak);
      const share = cap ? peak / cap : null;
      return {
        containerId: r.container_id,
        name: r.name,
        image: r.image,
        // The owning team; before teams were recorded, the container's `team` label.
        team: r.team ?? r.labels.team ?? null,
        labels: r.labels,
        cpuSeconds: Number(r.cpu_ns) / 1e9,
        memoryPeakBytes: peak,
        memoryCapBytes: cap,
        capShare: share,
        oversized: share !== null && share < RIGHT_SIZING_SHARE,
        oomKills: Number(r.ooms),
        ioReadBytes: r.io_read === null ? null : Number(r.io_read),
        ioWriteBytes: r.io_write === null ? null : Number(r.io_write),
        volumeBytes: r.volume_bytes === null ? null : Number(r.volume_bytes),
      };
    });
  }
}

/** The group of a container under `team`, `image` or `label:<key>`; "(none)" without it. */
export function groupKey(c: ContainerUsage, by: string): string {
  const key = by === 'image' ? c.image : by === 'team' ? c.team : c.labels[by.slice('label:'.length)];
  return key ?? '(none)';
}

export function groupUsage(list: ContainerUsage[], by: string): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const c of list) {
    const key = groupKey(c, by);
    const g = groups.get(key) ?? {
      key,
      containers: 0,
      cpuSeconds: 0,
      memoryPeakBytes: 0,
      memoryCapBytes: 0,
      oomKills: 0,
      oversized: 0,
      ioReadBytes: 0,
      ioWriteBytes: 0,
      volumeBytes: 0,
    };
    g.containers += 1;
    g.cpuSeconds += c.cpuSeconds;
    g.memoryPeakBytes = Math.max(g.memoryPeakBytes, c.memoryPeakBytes);
    g.memoryCapBytes = Math.max(g.memoryCapBytes, c.memoryCapBytes ?? 0);
    g.oomKills += c.oomKills;
    g.ioReadBytes += c.ioReadBytes ?? 0;
    g.ioWriteBytes += c.ioWriteBytes ?? 0;
    g.volumeBytes += c.volumeBytes ?? 0;
    if (c.oversized) g.oversized += 1;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.cpuSeconds - a.cpuSeconds || a.key.localeCompare(b.key));
}
