import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { UsageRollup, UsageSample } from './usage-sample';

interface SampleRow {
  id: string;
  container_id: string;
  container_name: string;
  image: string;
  labels: Record<string, string>;
  node: string;
  pid: number;
  sampled_at: Date;
  final: boolean;
  cpu_ns: string;
  cpu_user_ns: string;
  cpu_system_ns: string;
  memory_bytes: string;
  working_set_bytes: string;
  memory_peak_bytes: string | null;
  pids: number;
  throttled_periods: string;
  throttled_ns: string;
  oom_kills: number | null;
  io_read_bytes: string | null;
  io_write_bytes: string | null;
  io_read_ops: string | null;
  io_write_ops: string | null;
  volume_bytes: string | null;
  volumes: Record<string, number | null> | null;
}

interface RollupRow {
  hour: Date;
  label: string;
  value: string;
  containers: string;
  samples: string;
  cpu_ns: string;
  working_set_byte_seconds: string;
  working_set_max_bytes: string;
  memory_peak_bytes: string;
  throttled_ns: string;
  oom_kills: string;
  io_read_bytes: string;
  io_write_bytes: string;
}

// pg hands bigint and numeric back as strings; every value here fits a double exactly
// (2^53 ns of CPU is 104 days).
const num = (v: string | number) => Number(v);
const numOrNull = (v: string | null) => (v === null ? null : Number(v));

function toSample(r: SampleRow): UsageSample {
  return {
    id: r.id,
    containerId: r.container_id,
    name: r.container_name,
    image: r.image,
    labels: r.labels,
    node: r.node,
    pid: r.pid,
    sampledAt: r.sampled_at.toISOString(),
    final: r.final,
    cpuNs: num(r.cpu_ns),
    cpuUserNs: num(r.cpu_user_ns),
    cpuSystemNs: num(r.cpu_system_ns),
    memoryBytes: num(r.memory_bytes),
    workingSetBytes: num(r.working_set_bytes),
    memoryPeakBytes: r.memory_peak_bytes === null ? null : num(r.memory_peak_bytes),
    pids: r.pids,
    throttledPeriods: num(r.throttled_periods),
    throttledNs: num(r.throttled_ns),
    oomKills: r.oom_kills,
    ioReadBytes: numOrNull(r.io_read_bytes),
    ioWriteBytes: numOrNull(r.io_write_bytes),
    ioReadOps: numOrNull(r.io_read_ops),
    ioWriteOps: numOrNull(r.io_write_ops),
    volumeBytes: numOrNull(r.volume_bytes),
    volumes: r.volumes,
  };
}

/** Columns in insert order; `unnest` takes one array per column. */
const COLUMNS: Array<[string, string, (s: UsageSample) => unknown]> = [
  ['id', 'uuid', (s) => s.id],
  ['container_id', 'text', (s) => s.containerId],
  ['container_name', 'text', (s) => s.name],
  ['image', 'text', (s) => s.image],
  ['labels', 'jsonb', (s) => JSON.stringify(s.labels)],
  ['node', 'text', (s) => s.node],
  ['pid', 'integer', (s) => s.pid],
  ['sampled_at', 'timestamptz', (s) => s.sampledAt],
  ['final', 'boolean', (s) => s.final],
  ['cpu_ns', 'bigint', (s) => s.cpuNs],
  ['cpu_user_ns', 'bigint', (s) => s.cpuUserNs],
  ['cpu_system_ns', 'bigint', (s) => s.cpuSystemNs],
  ['memory_bytes', 'bigint', (s) => s.memoryBytes],
  ['working_set_bytes', 'bigint', (s) => s.workingSetBytes],
  ['memory_peak_bytes', 'bigint', (s) => s.memoryPeakBytes],
  ['pids', 'integer', (s) => s.pids],
  ['throttled_periods', 'bigint', (s) => s.throttledPeriods],
  ['throttled_ns', 'bigint', (s) => s.throttledNs],
  ['oom_kills', 'integer', (s) => s.oomKills],
  ['io_read_bytes', 'bigint', (s) => s.ioReadBytes ?? null],
  ['io_write_bytes', 'bigint', (s) => s.ioWriteBytes ?? null],
  ['io_read_ops', 'bigint', (s) => s.ioReadOps ?? null],
  ['io_write_ops', 'bigint', (s) => s.ioWriteOps ?? null],
  ['volume_bytes', 'bigint', (s) => s.volumeBytes ?? null],
  ['volumes', 'jsonb', (s) => (s.volumes ? JSON.stringify(s.volumes) : null)],
];

const INSERT_SQL = `INSERT INTO usage_samples (${COLUMNS.map(([c]) => c).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
  ON CONFLICT (id) DO NOTHING RETURNING id`;

export interface RollupQuery {
  from?: Date;
  to?: Date;
  /** `key` (every value) or `key=value`. */
  label?: string;
  limit: number;
}

@Injectable()
export class UsageSampleRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores a batch in one statement; ids already stored (a retried job) are skipped. Returns rows added. */
  async insert(samples: UsageSample[]): Promise<number> {
    if (samples.length === 0) return 0;
    const cols = COLUMNS.map(([, , get]) => samples.map(get));
    const added: unknown[] = await this.ds.query(INSERT_SQL, cols);
    return added.length;
  }

  /** The newest samples of a container, newest first, and its newest final record (if it exited). */
  async forContainer(
    containerId: string,
    limit: number,
  ): Promise<{ samples: UsageSample[]; final: UsageSample | null }> {
    const [samples, finals] = await Promise.all([
      this.ds.query(
        'SELECT * FROM usage_samples WHERE container_id = $1 ORDER BY sampled_at DESC, final DESC LIMIT $2',
        [containerId, limit],
      ) as Promise<SampleRow[]>,
      this.ds.query(
        'SELECT * FROM usage_samples WHERE container_id = $1 AND final ORDER BY sampled_at DESC LIMIT 1',
        [containerId],
      ) as Promise<SampleRow[]>,
    ]);
    return { samples: samples.map(toSample), final: finals[0] ? toSample(finals[0]) : null };
  }

  /** Hourly rollups per label (the usage_hourly view), oldest hour first. */
  async hourly(q: RollupQuery): Promise<UsageRollup[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    // An hour belongs to the range if it overlaps it. The cast is needed: PostgreSQL cannot
    // infer the type of a parameter that is an operand of `-` (42883 otherwise).
    if (q.from) add(`hour > ?::timestamptz - interval '1 hour'`, q.from);
    if (q.to) add('hour < ?::timestamptz', q.to);
    if (q.label) {
      const eq = q.label.indexOf('=');
      add('label = ?', eq < 0 ? q.label : q.label.slice(0, eq));
      if (eq >= 0) add('value = ?', q.label.slice(eq + 1));
    }
    params.push(q.limit);
    const rows: RollupRow[] = await this.ds.query(
      `SELECT * FROM usage_hourly ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY hour, label, value LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      hour: r.hour.toISOString(),
      label: r.label,
      value: r.value,
      containers: num(r.containers),
      samples: num(r.samples),
      cpuSeconds: num(r.cpu_ns) / 1e9,
      workingSetByteSeconds: Math.round(num(r.working_set_byte_seconds)),
      workingSetMaxBytes: num(r.working_set_max_bytes),
      memoryPeakBytes: num(r.memory_peak_bytes),
      throttledNs: num(r.throttled_ns),
      oomKills: num(r.oom_kills),
      ioReadBytes: num(r.io_read_bytes),
      ioWriteBytes: num(r.io_write_bytes),
    }));
  }
}
