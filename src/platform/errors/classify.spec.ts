import { classifyError, isDatabaseUnavailable } from './classify';
import { WardenError } from './warden-error';

/** A pg DatabaseError as node-postgres raises it: a SQLSTATE `code` and a `severity`. */
const pg = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('classifyError: database and kernel errors → a code of the one table', () => {
  it('keeps WardenErrors as they are', () => {
    const e = new WardenError('IMAGE_NOT_FOUND', 'no image');
    expect(classifyError(e)).toBe(e);
  });

  it('maps pg errors by SQLSTATE class: data 400, limits 422, unique 409, connection 503', () => {
    const nul = pg('22P05', 'unsupported Unicode escape sequence');
    expect(classifyError(nul)).toMatchObject({ code: 'DB_VALUE_INVALID', status: 400, cause: nul });
    expect(classifyError(nul)?.message).toMatch(/cannot be stored: unsupported Unicode/);
    expect(classifyError(pg('22021', 'invalid byte sequence for encoding "UTF8": 0x00'))?.status).toBe(400);
    expect(classifyError(pg('54000', 'index row size 3000 exceeds maximum'))?.status).toBe(422);
    expect(classifyError(pg('23505', 'duplicate key value'))).toMatchObject({
      code: 'DB_CONFLICT',
      status: 409,
    });
    expect(classifyError(pg('40P01', 'deadlock detected'))?.status).toBe(409);
    for (const s of ['08006', '57P01', '57P03', '53300'])
      expect(classifyError(pg(s, 'gone'))).toMatchObject({ code: 'DB_UNAVAILABLE', status: 503 });
    expect(classifyError(pg('42P01', 'relation does not exist'))).toBeUndefined(); // a bug: 500
  });

  it('finds the pg error inside a TypeORM QueryFailedError', () => {
    const wrapped = Object.assign(new Error('query failed'), { driverError: pg('22007', 'bad date') });
    expect(classifyError(wrapped)?.code).toBe('DB_VALUE_INVALID');
  });

  it('a refused connection is unavailable; a data error is not', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(classifyError(refused)?.status).toBe(503);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    // PostgreSQL on a unix socket: when it is down the socket file is gone.
    const gone = Object.assign(new Error('connect ENOENT /data/pg/.s.PGSQL.5432'), {
      code: 'ENOENT',
      syscall: 'connect',
    });
    expect(classifyError(gone)).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(isDatabaseUnavailable(pg('22P05', 'nul'))).toBe(false);
    // A request body cut short by the client is neither: it is the client leaving.
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    expect(isDatabaseUnavailable(aborted)).toBe(false);
    expect(classifyError(aborted)?.status).toBe(400);
  });

  it('maps errno of runtime errors: EBUSY 409, EINVAL 422, ENOSPC 503', () => {
    const cg = (errno: string) =>
      Object.assign(new Error(`write /sys/fs/cgroup/x: ${errno}`), {
        name: 'CgroupError',
        code: 'IO',
        detail: { errno },
      });
    expect(classifyError(cg('EBUSY'))).toMatchObject({ code: 'RUNTIME_CONFLICT', status: 409 });
    expect(classifyError(cg('ENOENT'))?.status).toBe(409);
    expect(classifyError(cg('EINVAL'))).toMatchObject({ code: 'RUNTIME_REJECTED', status: 422 });
    expect(classifyError(cg('ENOSPC'))?.status).toBe(503);
    const sys = Object.assign(new Error('pidfd_open: ESRCH (3)'), { name: 'SyscallError', code: 'ESRCH' });
    expect(classifyError(sys)?.message).toMatch(/^pidfd_open: ESRCH \(3\): the process is gone/);
    const timeout = Object.assign(new Error('freeze x timed out'), {
      name: 'CgroupError',
      code: 'TIMEOUT',
      detail: {},
    });
    expect(classifyError(timeout)?.status).toBe(503);
  });

  it('leaves unknown errors unclassified', () => {
    expect(classifyError(new TypeError('x is undefined'))).toBeUndefined();
    expect(
      classifyError(Object.assign(new Error('odd'), { name: 'SyscallError', code: 'EWEIRD' })),
    ).toBeUndefined();
  });
});
