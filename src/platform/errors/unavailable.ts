import { WardenError } from './warden-error';

/** SQLSTATEs that mean "the server is not there for you right now", not "your statement was wrong". */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** What node-postgres says when its connection is gone or never came (it sets no code). */
const PG_MESSAGES = [
  /^timeout exceeded when trying to connect/,
  /^Connection terminated/,
  /^Client has encountered a connection error/,
  /^Client was closed and is not queryable/,
  /^Cannot use a pool after calling end/,
];

/**
 * An error from PostgreSQL's client that means the database is unreachable (down, restarting,
 * refusing connections): answered 503 DATABASE_UNAVAILABLE with the cause, instead of 500.
 * TypeORM wraps driver errors (`driverError`); both shapes are looked at.
 */
export function databaseUnavailable(err: unknown): WardenError | undefined {
  if (err instanceof WardenError || !(err instanceof Error)) return undefined;
  const inner = (err as { driverError?: unknown }).driverError;
  for (const e of inner instanceof Error ? [err, inner] : [err]) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    const gone =
      (typeof code === 'string' && (PG_UNAVAILABLE.has(code) || code.startsWith('08'))) ||
      (typeof code === 'string' && syscall === 'connect' && SOCKET_CODES.has(code)) ||
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
