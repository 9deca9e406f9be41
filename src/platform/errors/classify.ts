import type { ErrorCode } from './error-codes';
import { WardenError } from './warden-error';

/**
 * Errors that are not WardenErrors — PostgreSQL's, the kernel's (errno from a syscall, the
 * cgroup drivers, the shim), a closed socket — turned into a code from the one table, with a
 * message that says what happened and what to do, and the original error kept as cause.
 * Anything not recognised stays unclassified: it is a bug, and the filters answer it 500.
 */

/** PostgreSQL connection-class conditions: the server is gone, restarting or full. */
const PG_UNAVAILABLE_CLASSES = ['08', '53', '57P', '58'];
/** Node/pg client errors that mean "no database right now". */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|database not initialized|Cannot use a pool after calling end/i;

interface PgLike {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  column?: unknown;
  constraint?: unknown;
  table?: unknown;
  severity?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

function chain(err: unknown): PgLike[] {
  const out: PgLike[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && typeof cur === 'object' && cur !== null; i++) {
    out.push(cur as PgLike);
    const e = cur as PgLike;
    cur = e.driverError ?? e.cause;
  }
  return out;
}

const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a pg error (also inside TypeORM's QueryFailedError), if any. */
export function sqlStateOf(err: unknown): string | undefined {
  for (const e of chain(err))
    if (typeof e.code === 'string' && SQLSTATE_RE.test(e.code) && 'severity' in e) return e.code;
  return undefined;
}

/** True when the database (or another service) cannot be reached, as opposed to refusing what was sent. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const state = sqlStateOf(err);
  if (state) return PG_UNAVAILABLE_CLASSES.some((c) => state.startsWith(c)) || state === '57014';
  // A socket errno counts only from a socket call (`connect`, `read`): an aborted request body
  // ('aborted', ECONNRESET, no syscall) is the client leaving, not a service down.
  return chain(err).some(
    (e) =>
      // Any failed connect() — ENOENT included: a unix socket whose server is gone.
      (e as { syscall?: unknown }).syscall === 'connect' ||
      (typeof e.code === 'string' && CONNECTION_ERRNOS.has(e.code) && 'syscall' in e) ||
      (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)),
  );
}

function pgError(err: unknown, state: string): WardenError | undefined {
  const pg = chain(err).find((e) => e.code === state) ?? {};
  const what = typeof pg.message === 'string' ? pg.message : 'rejected by the database';
  const column = typeof pg.column === 'string' ? pg.column : undefined;
  const detail = { sqlState: state, ...(column ? { column } : {}) };
  const cls = state.slice(0, 2);
  const make = (code: ErrorCode, message: string) => new WardenError(code, message, detail, { cause: err });
  if (state === '23505')
    return make('DB_CONFLICT', `already exists: ${what} (a concurrent request may have made it)`);
  if (state === '40001' || state === '40P01')
    return make('DB_CONFLICT', `a concurrent change got in the way (${what}); retry the request`);
  if (cls === '22')
    // Data exceptions: a value the request carried cannot be stored as given (a NUL byte in
    // text or JSON, a number or time out of range, an invalid text representation).
    return make(
      'DB_VALUE_INVALID',
      `a value in the request cannot be stored: ${what}; fix the value and retry`,
    );
  if (cls === '23')
    return make('DB_VALUE_INVALID', `the request conflicts with a rule of the stored data: ${what}`);
  if (cls === '54')
    // Program limits: e.g. a value too long for an index row.
    return make('DB_VALUE_TOO_LARGE', `a value in the request is too large to store: ${what}; shorten it`);
  if (PG_UNAVAILABLE_CLASSES.some((c) => state.startsWith(c)) || state === '57014')
    return make('DB_UNAVAILABLE', `the database is unavailable (${what}); retry when it is back`);
  return undefined;
}

/** Node's IncomingMessage 'aborted': the client hung up while its body was being read. */
function isClientAbort(err: unknown): boolean {
  const e = err as { message?: unknown; code?: unknown } | null;
  return !!e && e.message === 'aborted' && e.code === 'ECONNRESET' && !('syscall' in e);
}

/** errno → what it means for a request to the runtime (cgroups, namespaces, the shim). */
const ERRNO_CODES: Record<string, { code: ErrorCode; means: string }> = {
  EBUSY: { code: 'RUNTIME_CONFLICT', means: 'the resource is busy (another operation is using it)' },
  EEXIST: { code: 'RUNTIME_CONFLICT', means: 'it already exists' },
  ENOENT: { code: 'RUNTIME_CONFLICT', means: 'it is gone (the container changed state meanwhile)' },
  ESRCH: { code: 'RUNTIME_CONFLICT', means: 'the process is gone' },
  ENOTEMPTY: { code: 'RUNTIME_CONFLICT', means: 'it still has processes or entries in it' },
  EINVAL: { code: 'RUNTIME_REJECTED', means: 'the kernel refused the value' },
  ERANGE: { code: 'RUNTIME_REJECTED', means: 'the value is out of the range the kernel accepts' },
  E2BIG: { code: 'RUNTIME_REJECTED', means: 'the value is too large for the kernel' },
  ENAMETOOLONG: { code: 'RUNTIME_REJECTED', means: 'a name or path is too long' },
  EOVERFLOW: { code: 'RUNTIME_REJECTED', means: 'the value overflows what the kernel accepts' },
  ENOSPC: { code: 'RUNTIME_EXHAUSTED', means: 'the host is out of space or of a kernel resource' },
  ENOMEM: { code: 'RUNTIME_EXHAUSTED', means: 'the host is out of memory' },
  EAGAIN: { code: 'RUNTIME_EXHAUSTED', means: 'a host resource is temporarily exhausted' },
  EMFILE: { code: 'RUNTIME_EXHAUSTED', means: 'the service has too many open files' },
  ENFILE: { code: 'RUNTIME_EXHAUSTED', means: 'the host has too many open files' },
  EDQUOT: { code: 'RUNTIME_EXHAUSTED', means: 'a disk quota is exhausted' },
  EPERM: { code: 'RUNTIME_UNAVAILABLE', means: 'the host refused the operation to the service' },
  EACCES: { code: 'RUNTIME_UNAVAILABLE', means: 'the service lacks access on the host' },
  EIO: { code: 'RUNTIME_UNAVAILABLE', means: 'an I/O error on the host' },
};

/** Errors the runtime raises with an errno (duck-typed: platform does not import runtime). */
const RUNTIME_ERROR_NAMES = new Set(['CgroupError', 'SyscallError', 'ShimError']);

function runtimeError(err: unknown): WardenError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; detail?: { errno?: unknown } };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (e.name === 'CgroupError') {
    const cg = e.code as string;
    if (cg === 'EXISTS') return new WardenError('RUNTIME_CONFLICT', `${message}`, {}, { cause: err });
    if (cg === 'INVALID_LIMIT' || cg === 'INVALID_ID' || cg === 'INVALID_PID')
      return new WardenError('RUNTIME_REJECTED', `${message}`, {}, { cause: err });
    if (cg === 'UNSUPPORTED')
      return new WardenError('RUNTIME_REJECTED', `this host cannot do it: ${message}`, {}, { cause: err });
    if (cg === 'TIMEOUT')
      return new WardenError(
        'RUNTIME_UNAVAILABLE',
        `the host did not complete it in time: ${message}; retry`,
        {},
        { cause: err },
      );
  }
  const errno =
    typeof e.detail?.errno === 'string' ? e.detail.errno : typeof e.code === 'string' ? e.code : undefined;
  const hasSyscall = RUNTIME_ERROR_NAMES.has(String(e.name)) || 'syscall' in e;
  if (!errno || !hasSyscall) return undefined;
  const known = ERRNO_CODES[errno];
  if (!known) return undefined;
  return new WardenError(known.code, `${message}: ${known.means}`, { errno }, { cause: err });
}

/**
 * The WardenError an error stands for: itself, a mapped database or runtime error, or
 * undefined when nothing is known about it (a bug: answered 500 and logged).
 */
export function classifyError(err: unknown): WardenError | undefined {
  if (err instanceof WardenError) return err;
  if (isClientAbort(err))
    return new WardenError(
      'BAD_REQUEST',
      'the client closed the connection before its request was read',
      {},
      { cause: err },
    );
  const state = sqlStateOf(err);
  if (state) return pgError(err, state);
  if (isDatabaseUnavailable(err))
    return new WardenError(
      'UNAVAILABLE',
      `a service Warden depends on is unreachable (${(err as Error).message}); retry when it is back`,
      {},
      { cause: err },
    );
  return runtimeError(err);
}
