import { isDatabaseUnavailable } from './classify';
import { WardenError } from './warden-error';

/** SQLSTATEs that mean "the server is not there for you right now", not "your statement was wrong". */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
/** Failing to connect: the server is not listening (ENOENT: its unix socket is gone). */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** The connection broke under a query: the server went away. */
const BROKEN_CODES = new Set(['ECONNRESET', 'EPIPE']);
/** What node-postgres says when its connection is gone or never came (it sets no code). */
const PG_MESSAGES = [
  /^timeout exceeded when trying to connect/,
  /^Connection terminated/,
  /^Client has encountered a connection error/,
  /^Client was closed and is not queryable/,
  /^Cannot use a pool after calling end/,
];

/** Not `instanceof Error`: errors made by node's own modules come from another realm under jest. */
function isErrorLike(x: unknown): x is Error {
  return typeof x === 'object' && x !== null && typeof (x as { message?: unknown }).message === 'string';
}

/**
 * An error from PostgreSQL's client that means the database is unreachable (down, restarting,
 * refusing connections): answered 503 DATABASE_UNAVAILABLE with the cause, instead of 500.
 * TypeORM wraps driver errors (`driverError`); both shapes are looked at.
 */
export function databaseUnavailable(err: unknown): WardenError | undefined {
  if (err instanceof WardenError || !isErrorLike(err)) return undefined;
  const inner = (err as { driverError?: unknown }).driverError;
  for (const e of isErrorLike(inner) ? [err, inner] : [err]) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    const gone =
      (typeof code === 'string' && (PG_UNAVAILABLE.has(code) || code.startsWith('08'))) ||
      (typeof code === 'string' && syscall === 'connect' && CONNECT_CODES.has(code)) ||
      (typeof code === 'string' && BROKEN_CODES.has(code)) ||
      PG_MESSAGES.some((re) => re.test(e.message));
    if (gone)
      return new WardenError(
        'DATABASE_UNAVAILABLE',
        `PostgreSQL is unavailable (${e.message}); nothing was changed, retry when /health shows it up`,
        { server: 'postgres' },
        { cause: err },
      );
  }
  return undefined;
}

/** True when `err` means a server Warden needs is down (so the same call may succeed later). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof WardenError)
    return ['DATABASE_UNAVAILABLE', 'DB_UNAVAILABLE', 'REDIS_UNAVAILABLE'].includes(err.code);
  return (
    databaseUnavailable(err) !== undefined ||
    redisUnavailable(err) !== undefined ||
    isDatabaseUnavailable(err)
  );
}

/**
 * Runs `fn` again, backing off from 200 ms to 5 s, while it fails because PostgreSQL or Redis
 * is down, for at most `maxMs` (then the last error is thrown). For what must be recorded
 * after the fact and has no caller to answer 503 to: a container's exit, say. `fn` must be
 * safe to repeat (a guarded UPDATE, an event with its id fixed).
 */
export async function untilAvailable<T>(
  fn: () => Promise<T>,
  onRetry: (err: unknown) => void = () => undefined,
  maxMs = 10 * 60_000,
): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isUnavailable(err) || Date.now() + delay > deadline) throw err;
      onRetry(err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** What ioredis says when a command cannot be sent or answered (no offline queue, no retries). */
const REDIS_MESSAGES = [
  /Stream isn't writeable and enableOfflineQueue options is false/,
  /^Connection is closed\.?$/,
  /Reached the max retries per request limit/,
];

/**
 * An error from a producer's Redis connection while redis-server is down or restarting
 * (producerRedisOptions fails such commands at once): answered 503 REDIS_UNAVAILABLE, and
 * the action that needed the enqueue did not happen.
 */
export function redisUnavailable(err: unknown): WardenError | undefined {
  if (err instanceof WardenError || !isErrorLike(err)) return undefined;
  if (!REDIS_MESSAGES.some((re) => re.test(err.message))) return undefined;
  return new WardenError(
    'REDIS_UNAVAILABLE',
    `Redis is unavailable (${err.message}), so nothing was done; retry when /health shows it up`,
    { server: 'redis' },
    { cause: err },
  );
}
