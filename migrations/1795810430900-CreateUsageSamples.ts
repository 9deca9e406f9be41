import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage records (issue 4 "Usage"): samples of each running container's cgroup, and one final
 * record per run with its totals at exit. No foreign key to containers: a removed
 * container's row goes, its usage stays for showback.
 *
 * Working set = memory usage − inactive_file (v1: total_inactive_file in memory.stat; v2:
 * inactive_file): page cache the kernel can drop without writing anything back is not
 * counted, as in `docker stats`. Counters (cpu, throttling, oom_kills) are
 * cumulative for one run of the container, identified by (container_id, pid).
 *
 * usage_hourly is a view, not a table the workers fill: a rollup is a difference between
 * consecutive samples of a run, and a view gets that right whatever order samples arrive in
 * and however often a job is retried (the primary key already drops duplicates).
 */
export class CreateUsageSamples1795810430900 implements MigrationInterface {
  name = 'CreateUsageSamples1795810430900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_samples (
        id                 uuid        PRIMARY KEY,
        container_id       text        NOT NULL,
        container_name     text        NOT NULL,
        image              text        NOT NULL,
        labels             jsonb       NOT NULL DEFAULT '{}',
        node               text        NOT NULL,
        pid                integer     NOT NULL,
        sampled_at         timestamptz NOT NULL,
        final              boolean     NOT NULL DEFAULT false,
        cpu_ns             bigint      NOT NULL,
        cpu_user_ns        bigint      NOT NULL,
        cpu_system_ns      bigint      NOT NULL,
        memory_bytes       bigint      NOT NULL,
        working_set_bytes  bigint      NOT NULL,
        memory_peak_bytes  bigint,
        pids               integer     NOT NULL,
        throttled_periods  bigint      NOT NULL,
        throttled_ns       bigint      NOT NULL,
        oom_kills          integer
      )`);
    await q.query(`CREATE INDEX usage_samples_container ON usage_samples (container_id, sampled_at)`);
    await q.query(`CREATE INDEX usage_samples_time ON usage_samples (sampled_at)`);
    // Per sample, what happened since the previous sample of the same run: the first sample
    // of a run counts everything since the start (the counters start at zero with the cgroup).
    // A drop in a counter (a cgroup recreated under the same pid, which should not happen)
    // is treated as a restart rather than as negative usage.
    await q.query(`
      CREATE VIEW usage_hourly AS
      WITH d AS (
        SELECT s.*,
               lag(cpu_ns)       OVER run AS prev_cpu_ns,
               lag(throttled_ns) OVER run AS prev_throttled_ns,
               lag(oom_kills)    OVER run AS prev_oom_kills,
               lag(sampled_at)   OVER run AS prev_sampled_at
          FROM usage_samples s
        WINDOW run AS (PARTITION BY container_id, pid ORDER BY sampled_at, final)
      )
      SELECT date_trunc('hour', d.sampled_at) AS hour,
             l.key                            AS label,
             l.value                          AS value,
             count(DISTINCT d.container_id)   AS containers,
             count(*)                         AS samples,
             sum(CASE WHEN prev_cpu_ns IS NULL OR cpu_ns < prev_cpu_ns
                      THEN cpu_ns ELSE cpu_ns - prev_cpu_ns END)                  AS cpu_ns,
             coalesce(sum(working_set_bytes
                          * extract(epoch FROM sampled_at - prev_sampled_at)), 0) AS working_set_byte_seconds,
             max(working_set_bytes)                                               AS working_set_max_bytes,
             max(coalesce(memory_peak_bytes, memory_bytes))                       AS memory_peak_bytes,
             sum(CASE WHEN prev_throttled_ns IS NULL OR throttled_ns < prev_throttled_ns
                      THEN throttled_ns ELSE throttled_ns - prev_throttled_ns END) AS throttled_ns,
             sum(greatest(coalesce(oom_kills, 0) - coalesce(prev_oom_kills, 0), 0)) AS oom_kills
        FROM d CROSS JOIN LATERAL jsonb_each_text(d.labels) AS l
       GROUP BY 1, 2, 3`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW usage_hourly`);
    await q.query(`DROP TABLE usage_samples`);
  }
}
