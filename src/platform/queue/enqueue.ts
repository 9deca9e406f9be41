import type { Job, JobsOptions, Queue } from 'bullmq';
import { WardenError } from '../errors';

/**
 * How long a request waits for Redis to take a job. On the producers' connections a command
 * fails at once while Redis is disconnected (producerRedisOptions): a dead server is answered
 * in milliseconds. This bounds the rest, a server that holds the connection but does not answer
 * (stopped, swapping). Not 1 s: with `appendfsync always` an enqueue waits for an fsync, and on
 * this shared 2-core host under load (load average 15+) single enqueues were measured past 1 s,
 * which would refuse actions on a server that is up.
 */
export const ENQUEUE_TIMEOUT_MS = 2500;

/**
 * `queue.add`, answered within `timeoutMs`: resolves once Redis has the job (on disk, with the
 * embedded server's `appendfsync always`), or throws REDIS_UNAVAILABLE (503). The caller does
 * not act on a job it could not enqueue (fail closed). A timed-out add may still land later;
 * jobs are idempotent by jobId and events by id, so a retry by the client is safe.
 */
export async function enqueueWithin<T>(
  queue: Queue,
  name: string,
  data: T,
  opts: JobsOptions,
  timeoutMs = ENQUEUE_TIMEOUT_MS,
): Promise<Job> {
  let timer: NodeJS.Timeout | undefined;
  const add = queue.add(name, data, opts);
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([add, late]);
  } catch (err) {
    add.catch(() => undefined);
    throw new WardenError(
      'REDIS_UNAVAILABLE',
      `Redis did not take the ${queue.name} job (${(err as Error).message}), so nothing was done; retry when /health shows it up`,
      { server: 'redis', queue: queue.name },
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}
