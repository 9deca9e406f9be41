import type { RedisOptions } from 'ioredis';

/** One Redis Sentinel's address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is: a unix socket path, host/port (TLS for rediss://), or a master found through
 * Redis Sentinel (`sentinels` + `name`), which follows the master across failovers.
 */
export interface RedisEndpoint {
  path?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  tls?: boolean;
  sentinels?: SentinelAddress[];
  /** The master's name the sentinels monitor. */
  name?: string;
  sentinelPassword?: string;
  /**
   * Replicas that must hold a job before an enqueue is acknowledged (Redis `WAIT`). Replication
   * is asynchronous: without it, a job the master acknowledged and did not yet send on is lost
   * when a replica takes over. Defaults to 1 behind Sentinel, 0 otherwise.
   */
  minReplicas?: number;
}

export const SENTINEL_SCHEMES = ['redis-sentinel:', 'rediss-sentinel:'];
const SENTINEL_EXAMPLE = 'redis-sentinel://[:password@]host:26379[,host:26379…]/mymaster[?db=0]';

/** `host:port` or `[v6]:port`; the port defaults to Sentinel's 26379. */
function sentinelAddress(s: string): SentinelAddress {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(s);
  const port = m?.[3] === undefined ? 26379 : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new Error(`'${s}' is not host:port`);
  return { host: m[1] ?? m[2], port };
}

function count(v: string | null, what: string, max: number): number | undefined {
  if (v === null) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > max) throw new Error(`${what} must be a number from 0 to ${max}`);
  return Number(v);
}

/**
 * `redis-sentinel://[user:password@]h1:26379,h2:26379/<master>[?db=N&sentinelPassword=…&minReplicas=N]`.
 * WHATWG URLs take one host, so the authority is split by hand; the password is the master's.
 */
function parseSentinelUrl(url: string): RedisEndpoint {
  const m = /^(rediss?-sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)(?:\?([^#]*))?$/.exec(url);
  if (!m) throw new Error(`must look like ${SENTINEL_EXAMPLE}`);
  const [, scheme, auth, hosts, name, query] = m;
  const q = new URLSearchParams(query ?? '');
  const [user, pass] = auth ? auth.split(/:(.*)/s, 2) : [];
  for (const key of q.keys())
    if (!['db', 'sentinelPassword', 'minReplicas'].includes(key))
      throw new Error(`unknown option '${key}' (db, sentinelPassword, minReplicas)`);
  return {
    sentinels: hosts.split(',').map(sentinelAddress),
    name: decodeURIComponent(name),
    username: user ? decodeURIComponent(user) : undefined,
    password: pass ? decodeURIComponent(pass) : undefined,
    db: count(q.get('db'), 'db', 15),
    sentinelPassword: q.get('sentinelPassword') ?? undefined,
    minReplicas: count(q.get('minReplicas'), 'minReplicas', 16) ?? 1,
    tls: scheme === 'rediss-sentinel',
  };
}

/** Throws an Error saying what is wrong with `url`. */
export function parseRedisUrl(url: string): RedisEndpoint {
  if (SENTINEL_SCHEMES.some((s) => url.startsWith(`${s}//`))) return parseSentinelUrl(url);
  const u = new URL(url);
  if (u.protocol === 'unix:') return { path: decodeURIComponent(u.pathname) };
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:',
  };
}

/**
 * Reconnects every 100 ms, then at most every second, for ever: a restarted redis-server
 * (embedded and supervised, or external) is found within a second of being back. BullMQ's
 * own default waits up to 20 s between tries.
 */
const reconnectSoon = (times: number) => Math.min(times * 100, 1000);

/**
 * Behind Sentinel: ask the sentinels again on every reconnection, listen for their
 * `+switch-master` so a graceful failover is followed at once, and drop a connection to a
 * demoted master (it answers writes with READONLY) to find the new one.
 */
function sentinelOptions(e: RedisEndpoint): RedisOptions {
  if (!e.sentinels) return {};
  return {
    sentinels: e.sentinels,
    name: e.name,
    sentinelPassword: e.sentinelPassword,
    sentinelRetryStrategy: reconnectSoon,
    failoverDetector: true,
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    enableTLSForSentinelMode: e.tls,
  };
}

/** ioredis options for workers: BullMQ needs maxRetriesPerRequest null (they block on BRPOPLPUSH-like calls). */
export function ioredisOptions(e: RedisEndpoint): RedisOptions {
  return {
    path: e.path,
    host: e.path || e.sentinels ? undefined : e.host,
    port: e.path || e.sentinels ? undefined : e.port,
    username: e.username,
    password: e.password,
    db: e.db,
    tls: e.tls ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectSoon,
    ...sentinelOptions(e),
  };
}

/**
 * ioredis options for the queues a request enqueues on: while Redis is down a command fails
 * at once (no offline queue, no retry) instead of waiting for the reconnection, so the request
 * answers 503 (see enqueueWithin) and its action does not happen. Workers keep
 * {@link ioredisOptions}: they may wait.
 */
export function producerRedisOptions(e: RedisEndpoint): RedisOptions {
  return { ...ioredisOptions(e), maxRetriesPerRequest: 0, enableOfflineQueue: false };
}
