import { DataSource } from 'typeorm';
import type { ReportParams, ShowbackRow } from './compliance-report.types';

export const SHOWBACK_DEFINITION =
  'cpuSeconds: CPU time used (user+system) in the day, from the differences between consecutive cgroup samples of each run; ' +
  'memoryGbHours: working set (memory usage minus inactive_file, as docker stats and kubelet count it) integrated over time between samples, in GiB·hours; ' +
  'peakMemoryBytes: the highest memory peak the cgroup reported; requestedMemoryBytes: the memory cap the container ran with (the largest, when several containers share the key); ' +
  "peakVolumeBytes: the most a container's volumes held in one sample of the day (statfs of a sized volume, a bounded du of a plain one; the largest container when several share the key), null when none was measured.";

/**
 * Usage per day per team (`team:x`), image (`image:x`) and label (`label:key=value`), from the usage samples, with the
 * cap each container asked for next to what it peaked at: the right-sizing evidence.
 */
export async function showback(
  ds: DataSource,
  from: Date,
  to: Date,
  params: ReportParams,
): Promise<ShowbackRow[]> {
  const [labelKey, labelValue] = params.label?.split('=', 2) ?? [];
  const rows: Array<{
    day: Date;
    key: string;
    cpu_ns: string;
    ws_byte_seconds: string;
    peak: string | null;
    requested: string | null;
    volume_peak: string | null;
  }> = await ds.query(
    `WITH teams AS (
       -- a container's team is its launching principal's team at decision time
       SELECT DISTINCT a.subject AS container_id, t.team
         FROM audit_events a
         JOIN launch_requests lr ON lr.id = (a.payload->>'launchRequestId')::uuid
         CROSS JOIN LATERAL unnest(lr.principal_teams) AS t(team)
        WHERE a.type = 'container.created' AND a.payload->>'launchRequestId' IS NOT NULL
     ),
     d AS (
       SELECT s.*,
              lag(cpu_ns)     OVER run AS prev_cpu_ns,
              lag(sampled_at) OVER run AS prev_sampled_at
         FROM usage_samples s
        WHERE s.sampled_at >= $1 AND s.sampled_at < $2
          AND ($3::text IS NULL OR (s.labels ? $3 AND ($4::text IS NULL OR s.labels->>$3 = $4)))
          -- a team's report counts its containers only (params.team, as for its decisions)
          AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM teams t WHERE t.container_id = s.container_id AND t.team = $5))
       WINDOW run AS (PARTITION BY container_id, pid ORDER BY sampled_at, final)
     ),
     caps AS (
       SELECT DISTINCT ON (subject) subject AS container_id, (payload->'spec'->>'memoryBytes')::bigint AS requested
         FROM audit_events WHERE type = 'container.created' ORDER BY subject, seq DESC
     ),
     keyed AS (
       SELECT d.*, 'image:' || d.image AS key FROM d
       UNION ALL
       SELECT d.*, 'label:' || l.key || '=' || l.value AS key FROM d CROSS JOIN LATERAL jsonb_each_text(d.labels) AS l
       UNION ALL
       SELECT d.*, 'team:' || t.team AS key FROM d JOIN teams t ON t.container_id = d.container_id
     )
     SELECT date_trunc('day', k.sampled_at) AS day, k.key,
            sum(CASE WHEN prev_cpu_ns IS NULL OR cpu_ns < prev_cpu_ns THEN cpu_ns ELSE cpu_ns - prev_cpu_ns END) AS cpu_ns,
            coalesce(sum(working_set_bytes * extract(epoch FROM sampled_at - prev_sampled_at)), 0) AS ws_byte_seconds,
            max(coalesce(memory_peak_bytes, memory_bytes)) AS peak,
            max(c.requested) AS requested,
            max(k.volume_bytes) AS volume_peak
       FROM keyed k LEFT JOIN caps c ON c.container_id = k.container_id
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [from, to, labelKey ?? null, labelValue ?? null, params.team ?? null],
  );
  return rows.map((r) => ({
    day: r.day.toISOString().slice(0, 10),
    key: r.key,
    cpuSeconds: Number(r.cpu_ns) / 1e9,
    memoryGbHours: Number(r.ws_byte_seconds) / 1024 ** 3 / 3600,
    peakMemoryBytes: Number(r.peak ?? 0),
    requestedMemoryBytes: r.requested === null ? null : Number(r.requested),
    peakVolumeBytes: r.volume_peak === null ? null : Number(r.volume_peak),
  }));
}
