import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedRedis } from '../../src/platform/queue/embedded-redis';
import type { RedisEndpoint } from '../../src/platform/queue/redis-endpoint';

/** One statement on its own connection: the rows it returns. */
export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The migrated schema each test database is copied from (made once in global-setup.ts). */
export const MIGRATED_TEMPLATE = 'warden_test_migrated';

export const quietLog = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

/**
 * A fresh database in the run's embedded PostgreSQL (see global-setup.ts): a copy of the schema
 * migrated once for the run, or with `empty` one with no tables at all.
 */
export async function freshDatabase(
  opts: { empty?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.WARDEN_TEST_PG_URL;
  if (!base)
    throw new Error(
      'WARDEN_TEST_PG_URL unset: integration tests run through jest with test/utils/global-setup.ts',
    );
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const run = async (text: string) => void (await sql(admin.toString(), text));
  await run(`CREATE DATABASE ${name}${opts.empty ? '' : ` TEMPLATE ${MIGRATED_TEMPLATE}`}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A private redis-server for one test file, in its own temp dir. */
export async function freshRedis(): Promise<{
  endpoint: RedisEndpoint;
  url: string;
  dir: string;
  /** The server's pid now (it is supervised: a killed one comes back with another). */
  readonly pid: number;
  stop(): Promise<void>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-'));
  const redis = await startEmbeddedRedis(dir, quietLog);
  return {
    get pid() {
      return redis.pid;
    },
    endpoint: redis.endpoint,
    url: redis.endpoint.path
      ? `unix://${redis.endpoint.path}`
      : `redis://:${redis.endpoint.password}@127.0.0.1:${redis.endpoint.port}`,
    dir,
    stop: async () => {
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Retries an expectation until it holds; the last failure is thrown at the deadline. */
export async function until(check: () => void | Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
