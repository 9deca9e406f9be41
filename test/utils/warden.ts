import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { Role } from '../../src/app.module';
import { startWarden, RunningWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import type { CgroupDriver } from '../../src/runtime/cgroups';
import { CGROUP_DRIVER } from '../../src/runtime/container/runtime.tokens';
import { removeDataDir } from './data-dir';
import { freshDatabase, freshRedis } from './services';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

let started = 0;

export interface TestWarden extends RunningWarden {
  url: string;
  databaseUrl: string;
  redisUrl: string;
  /** The test's own redis-server, to pause or stop it. */
  redis: { readonly pid: number; stop(): Promise<void> };
  dataDir: string;
  close(): Promise<void>;
}

/** The settings every in-process test Warden starts from: its own dir, a free port, the test servers. */
export function testWardenEnv(
  dataDir: string,
  databaseUrl: string,
  redisUrl: string,
): Record<string, string> {
  return {
    WARDEN_DATA_DIR: dataDir,
    WARDEN_PORT: '0',
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    WARDEN_LOG_LEVEL: 'error',
    // In this process, where the tests reach the workers (a CLI-started `up` runs them apart).
    WARDEN_UP_WORKERS: 'inline',
    // A test Warden's data dir goes with it: its stop must leave no container behind. The
    // live-restore tests (test/privileged/live-restore.test.ts) turn it on.
    WARDEN_LIVE_RESTORE: 'false',
  };
}

/**
 * Warden in this process, on a fresh database and a private redis-server, HTTP on a free
 * port. Everything real; only the embedded servers are the test run's instead of Warden's.
 */
export async function startTestWarden(
  role: Role = 'up',
  env: Record<string, string> = {},
): Promise<TestWarden> {
  const [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-data-'));
  const config = loadConfig({
    ...testWardenEnv(dataDir, db.url, redis.url),
    // One runtime scope per test Warden (a Warden holds its cgroup parent while it runs), so
    // test files here and suites run by others on this host never meet; tests that mean to
    // share one pass their own.
    WARDEN_CGROUP_PARENT: `warden-test-${process.pid}-${++started}`,
    ...env,
  });
  const running = await startWarden(role, config, pino({ level: config.log.level }));
  return {
    ...running,
    url: running.url ?? '',
    databaseUrl: db.url,
    redisUrl: redis.url,
    redis,
    dataDir,
    close: async () => {
      let cgroups: CgroupDriver | undefined;
      try {
        cgroups = running.app.get<CgroupDriver>(CGROUP_DRIVER, { strict: false });
      } catch {
        cgroups = undefined; // a role without the runtime
      }
      await running.stop();
      // Its cgroup parent, empty once its containers are gone (one that is not stays, and says so).
      await cgroups?.removeParent().catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') console.warn(`cgroup parent: ${err.message}`);
      });
      await redis.stop();
      await db.drop();
      removeDataDir(dataDir);
    },
  };
}

export async function api(
  w: { url: string },
  method: string,
  p: string,
  opts: { token?: string | null; body?: unknown; raw?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${w.url}${p}`, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * The docker socket's uid 0 acts as an admin instead of `docker-root` (a deployer without a
 * team, which sees only what it made itself): for tests that make things over REST as the
 * bootstrap admin and then reach them with the docker CLI (team scoping, docs/security.md).
 */
export async function socketAsAdmin(w: { url: string }, principalId = 'socket-admin'): Promise<void> {
  const made = await api(w, 'POST', '/principals', { body: { id: principalId, role: 'admin' } });
  if (made.status !== 201 && made.status !== 409)
    throw new Error(`principal: ${made.status} ${JSON.stringify(made.body)}`);
  const mapped = await api(w, 'PUT', '/socket-principals/0', { body: { principalId } });
  if (mapped.status !== 200)
    throw new Error(`socket principal: ${mapped.status} ${JSON.stringify(mapped.body)}`);
}
