import type { BackoffStrategy, MinimalJob, Worker, WorkerOptions } from 'bullmq';
import { ioredisOptions, RedisEndpoint } from './redis-endpoint';

/** Every Warden key in Redis starts with this; queues and workers must agree on it. */
export const QUEUE_PREFIX = 'warden';

/** Job backoff type for {@link cappedExponentialBackoff}; only workers given it can compute it. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

/**
 * BullMQ's built-in exponential backoff doubles without a ceiling: from 200 ms, the 13th retry
 * waits 14 minutes, so a 10-minute Postgres outage would be followed by a quarter of an hour
 * of idling. Capped, the queue is drained at most `MAX_BACKOFF_MS` after the database is back.
 * No jitter: events that failed together should be retried together, in one batch.
 */
export const MAX_BACKOFF_MS = 10_000;

export const cappedExponentialBackoff: BackoffStrategy = (
  attemptsMade: number,
  _type?: string,
  _err?: Error,
  job?: MinimalJob,
) => {
  const base = typeof job?.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 200) : 200;
  return Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, attemptsMade - 1));
};

export interface WorkerTuning {
  /** How long a job stays locked to its worker without a renewal (a dead worker's jobs wait this long). */
  lockMs: number;
  /** How often workers look for jobs whose lock expired and put them back in the queue. */
  stalledCheckMs: number;
}

/**
 * Options every Warden worker shares. Jobs of a killed worker come back after at most
 * lockMs + stalledCheckMs. `maxStalledCount` is raised from BullMQ's 1 because our jobs are
 * idempotent (a re-run is dropped by `ON CONFLICT`): with 1, an event whose worker was killed
 * twice would be failed for good; 20 still stops an event that itself crashes workers from
 * crash-looping the fleet forever (it lands in the failed set, kept for inspection).
 */
export function workerOptions(redis: RedisEndpoint, tuning: WorkerTuning): WorkerOptions {
  return {
    connection: ioredisOptions(redis),
    prefix: QUEUE_PREFIX,
    lockDuration: tuning.lockMs,
    stalledInterval: tuning.stalledCheckMs,
    maxStalledCount: 20,
    // BullMQ waits 15 s before fetching again after a failed fetch (Redis gone): with a
    // supervised redis-server back within a second, that idles the trail for 15 s per failure,
    // and repeated kills of redis-server left acknowledged jobs waiting past 90 s once.
    runRetryDelay: 1000,
    // How long the blocking connection waits for a job marker (BZPOPMIN) before it looks
    // again. After repeated kills of redis-server the worker was measured sitting out whole
    // waits (5 s, plus BullMQ's 1 s watchdog) with a thousand jobs waiting: drained 27-70 s
    // after the last of 8 kills; with 1 s, 9 s (test/integration/audit-redis-kills.test.ts).
    // The cost is one BZPOPMIN a second per idle worker.
    drainDelay: 1,
    settings: { backoffStrategy: cappedExponentialBackoff },
    autorun: false,
  };
}

/** How long a worker's close may wait for Redis before its connections are dropped. */
export const WORKER_CLOSE_MS = 3000;

/**
 * `worker.close()`, bounded: with Redis down it waits for a fetch and a QUIT that never
 * answer, and Warden's shutdown (and so its HTTP servers' close) would wait with it. Past
 * `ms` the connections are dropped; a job still in flight was not acknowledged and comes back
 * to a worker as stalled, where its items dedupe by id.
 */
export async function closeWorker(worker: Worker | undefined, ms = WORKER_CLOSE_MS): Promise<void> {
  if (!worker) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = worker.close().then(() => true);
  closed.catch(() => undefined);
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    if (await Promise.race([closed, late])) return;
    // Not awaited: with the server gone, a disconnect can wait as long as the close did.
    worker.disconnect().catch(() => undefined);
    await Promise.race([closed.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  } finally {
    clearTimeout(timer);
  }
}
