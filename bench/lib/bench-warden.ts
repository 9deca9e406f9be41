/**
 * A Warden for a bench: its own embedded PostgreSQL and redis-server under a temp dir, the
 * `up` role (API + workers, as `warden up` runs it) in this process, the fixture busybox
 * imported as busybox:1.35, and a private cgroup parent so nothing it creates can be mistaken
 * for anyone else's. `close()` removes everything it made.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startWarden, RunningWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';
import { startEmbeddedRedis } from '../../src/platform/queue';
import type { Caller } from '../../src/platform/http';
import type { CgroupDriver } from '../../src/runtime/cgroups';
import { CGROUP_DRIVER } from '../../src/runtime/container/runtime.tokens';
import { dockerSave } from '../../test/fixtures/images/archives';
import { busyboxImage } from '../../test/fixtures/images/fixture-images';
import { jsonRequest, type Reply } from './json-request';

export type { Reply } from './json-request';

export const BENCH_TOKEN = 'bench-admin-token-0123456789';
export const IMAGE = 'busybox:1.35';

const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

export interface BenchWarden {
  warden: RunningWarden;
  url: string;
  dir: string;
  /** The bootstrap admin, as a direct (non-HTTP) caller of the runtime's services. */
  caller: Caller;
  /** REST call with the admin token; JSON in and out. */
  call(method: string, p: string, body?: unknown): Promise<Reply>;
  /** Stops this Warden and starts another on the same data dir and servers (`warden` is then the new one). */
  restart(env?: Record<string, string>): Promise<RunningWarden>;
  close(): Promise<void>;
}

/** `role`: `up` (API + workers, the default deployment) or `serve` (the API alone, no job runs). */
export async function startBenchWarden(
  env: Record<string, string> = {},
  role: 'up' | 'serve' = 'up',
): Promise<BenchWarden> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), quiet);
  const redis = await startEmbeddedRedis(path.join(dir, 'r'), quiet);
  const redisUrl = redis.endpoint.path
    ? `unix://${redis.endpoint.path}`
    : `redis://:${redis.endpoint.password}@127.0.0.1:${redis.endpoint.port}`;
  let warden: RunningWarden | undefined;
  // Keep-alive connections, as a CLI or SDK keeps them; node:http rather than fetch, whose
  // per-request overhead in this same process would be counted against the server.
  const agent = new http.Agent({ keepAlive: true });
  const cleanup = async () => {
    agent.destroy();
    if (warden) {
      // Containers die with the service; then the (empty) private cgroup parent goes too.
      const cgroups = warden.app.get<CgroupDriver>(CGROUP_DRIVER);
      await warden.stop();
      await cgroups.removeParent().catch((err: Error) => console.error(`cgroup parent: ${err.message}`));
    }
    await redis.stop();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({
      WARDEN_DATA_DIR: path.join(dir, 'warden'),
      WARDEN_PORT: '0',
      WARDEN_ADMIN_TOKEN: BENCH_TOKEN,
      DATABASE_URL: pg.url,
      REDIS_URL: redisUrl,
      WARDEN_LOG_LEVEL: 'error',
      WARDEN_CGROUP_PARENT: `warden-bench-${process.pid}`,
      WARDEN_DOCKER_SOCKET: path.join(dir, 'docker.sock'),
      // Its dir goes at close: a stop must leave no container (bench/restore turns it on).
      WARDEN_LIVE_RESTORE: 'false',
      ...env,
    });
    warden = await startWarden(role, config, pino({ level: 'error' }));
    const url = warden.url!;
    const call = (method: string, p: string, body?: unknown) =>
      jsonRequest(agent, url, BENCH_TOKEN, method, p, body);
    const restart = async (more: Record<string, string> = {}) => {
      await warden!.stop();
      warden = undefined;
      warden = await startWarden(role, loadConfig({ ...config.source, ...more }), pino({ level: 'error' }));
      return warden;
    };
    const tar = await dockerSave(await busyboxImage(), [IMAGE]);
    const imported = await fetch(`${url}/images/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/x-tar' },
      body: tar,
    });
    if (imported.status !== 201) throw new Error(`image import: ${imported.status} ${await imported.text()}`);
    return {
      get warden() {
        return warden!;
      },
      restart,
      url,
      dir,
      caller: { principal: { id: 'admin', role: 'admin', teams: [] }, source: { via: 'cli' } },
      call,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Resident set of a process in bytes (VmRSS), or 0 once it is gone. */
export function rssOf(pid: number | 'self'): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size in bytes (shared pages divided among their users), or 0 once it is gone. */
export function pssOf(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(ms: number[]): { median: number; p95: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, p95: percentile(s, 95), n: s.length };
}
