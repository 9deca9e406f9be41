import type { RedisOptions } from 'ioredis';

/** Where Redis is: a unix socket path, or host/port; TLS for rediss://. */
export interface RedisEndpoint {
  path?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  tls?: boolean;
}

export function parseRedisUrl(url: string): RedisEndpoint {
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

/** ioredis options for workers: BullMQ needs maxRetriesPerRequest null (they block on BRPOPLPUSH-like calls). */
export function ioredisOptions(e: RedisEndpoint): RedisOptions {
  return {
    path: e.path,
    host: e.path ? undefined : e.host,
    port: e.path ? undefined : e.port,
    username: e.username,
    password: e.password,
    db: e.db,
    tls: e.tls ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectSoon,
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
