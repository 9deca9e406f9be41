import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Block I/O joins usage (issue 14 point 3): bytes and operations read and written, cumulative
 * for one run like the CPU counters, null where the host has no block I/O controller. The
 * hourly view gains the bytes done in each hour (differences between consecutive samples).
 */
export class AddUsageBlockIo1796238770481 implements MigrationInterface {
  name = 'AddUsageBlockIo1796238770481';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE usage_samples
        ADD COLUMN io_read_bytes bigint,
        ADD COLUMN io_write_bytes bigint,
        ADD COLUMN io_read_ops bigint,
        ADD COLUMN io_write_ops bigint`);
    // New columns go at the end, which CREATE OR REPLACE VIEW allows.
    await q.query(`
      CREATE OR REPLACE VIEW usage_hourly AS
      WITH d AS (
        SELECT s.*,
               lag(cpu_ns)       OVER run AS prev_cpu_ns,
               lag(throttled_ns) OVER run AS prev_throttled_ns,
               lag(oom_kills)    OVER run AS prev_oom_kills,
               lag(sampled_at)   OVER run AS prev_sampled_at,
               lag(io_read_bytes)  OVER run AS prev_io_read_bytes,
               lag(io_write_bytes) OVER run AS prev_io_write_bytes
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
             sum(greatest(coalesce(oom_kills, 0) - coalesce(prev_oom_kills, 0), 0)) AS oom_kills,
             coalesce(sum(CASE WHEN prev_io_read_bytes IS NULL OR io_read_bytes < prev_io_read_bytes
                      THEN io_read_bytes ELSE io_read_bytes - prev_io_read_bytes END), 0) AS io_read_bytes,
             coalesce(sum(CASE WHEN prev_io_write_bytes IS NULL OR io_write_bytes < prev_io_write_bytes
                      THEN io_write_bytes ELSE io_write_bytes - prev_io_write_bytes END), 0) AS io_write_bytes
        FROM d CROSS JOIN LATERAL jsonb_each_text(d.labels) AS l
       GROUP BY 1, 2, 3`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW usage_hourly`);
    await q.query(`
      ALTER TABLE usage_samples
        DROP COLUMN io_read_bytes,
        DROP COLUMN io_write_bytes,
        DROP COLUMN io_read_ops,
        DROP COLUMN io_write_ops`);
    // The old view selects s.*: made again only once the columns are gone.
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
}
