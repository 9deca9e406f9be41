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

/** ioredis options; BullMQ workers need maxRetriesPerRequest null (they block on BRPOPLPUSH-like calls). */
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
  };
}
