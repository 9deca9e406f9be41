import * as fs from 'node:fs';
import * as path from 'node:path';
import { WardenConfig } from './config';
import { startEmbeddedPostgres } from './database/embedded-postgres';
import { isAlive, Logger } from './process/child-process';
import type { ServerState } from './process';
import { startEmbeddedRedis } from './queue/embedded-redis';
import { parseRedisUrl, RedisEndpoint } from './queue/redis-endpoint';

/** Where Warden's PostgreSQL and Redis are, and who started them. */
export interface Infrastructure {
  databaseUrl: string;
  redis: RedisEndpoint;
  /** Servers this process started (and will stop); empty when both came from URLs. */
  embedded: Array<'postgres' | 'redis'>;
  /** The embedded servers' supervision state (up, restarts, why down), for /health. */
  servers(): ServerState[];
  stop(): Promise<void>;
}

export const INFRASTRUCTURE = Symbol('INFRASTRUCTURE');

interface EmbeddedRecord {
  pid: number;
  databaseUrl?: string;
  redis?: RedisEndpoint;
}

const recordFile = (config: WardenConfig) => path.join(config.dataDir, 'run', 'embedded.json');

/**
 * Resolves the database and Redis: the URLs when given; otherwise, when `mayStart`, the
 * embedded servers under the data dir. A process that may not start them (`warden worker`)
 * joins the ones a running `warden serve` on the same data dir started, or says what to do.
 */
export async function startInfrastructure(
  config: WardenConfig,
  mayStart: boolean,
  log: Logger,
): Promise<Infrastructure> {
  const needPg = !config.database.url;
  const needRedis = !config.redis.url;
  if ((needPg || needRedis) && !mayStart) return joinEmbedded(config, needPg, needRedis);

  fs.mkdirSync(config.dataDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  // Once: a shutdown past its grace period calls it again while the first call still runs.
  const stopAll = () =>
    (stopping ??= (async () => {
      fs.rmSync(recordFile(config), { force: true });
      for (const stop of [...stops].reverse())
        await stop().catch((e) => log.error(`stopping: ${(e as Error).message}`));
    })());
  try {
    const [pg, redis] = await Promise.all([
      needPg ? startEmbeddedPostgres(path.join(config.dataDir, 'pg'), log) : undefined,
      needRedis ? startEmbeddedRedis(path.join(config.dataDir, 'redis'), log) : undefined,
    ]);
    if (pg) stops.push(pg.stop);
    if (redis) stops.push(redis.stop);
    const infra: Infrastructure = {
      databaseUrl: pg?.url ?? config.database.url!,
      redis: redis?.endpoint ?? parseRedisUrl(config.redis.url!),
      embedded: [...(pg ? ['postgres' as const] : []), ...(redis ? ['redis' as const] : [])],
      servers: () => [pg?.server.state(), redis?.server.state()].filter((s): s is ServerState => !!s),
      stop: stopAll,
    };
    if (pg || redis) {
      const rec: EmbeddedRecord = { pid: process.pid, databaseUrl: pg?.url, redis: redis?.endpoint };
      fs.mkdirSync(path.dirname(recordFile(config)), { recursive: true, mode: 0o700 });
      fs.writeFileSync(recordFile(config), JSON.stringify(rec), { mode: 0o600 });
    }
    return infra;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function joinEmbedded(config: WardenConfig, needPg: boolean, needRedis: boolean): Infrastructure {
  const missing = [needPg && 'DATABASE_URL', needRedis && 'REDIS_URL'].filter(Boolean).join(' and ');
  let rec: EmbeddedRecord | undefined;
  try {
    rec = JSON.parse(fs.readFileSync(recordFile(config), 'utf8')) as EmbeddedRecord;
  } catch {
    rec = undefined;
  }
  if (!rec || !isAlive(rec.pid) || (needPg && !rec.databaseUrl) || (needRedis && !rec.redis)) {
    throw new Error(
      `${missing} not set and no running 'warden serve' on ${config.dataDir} has embedded servers to share: ` +
        `start 'warden serve' first, or set ${missing} to run workers on their own`,
    );
  }
  return {
    databaseUrl: needPg ? rec.databaseUrl! : config.database.url!,
    redis: needRedis ? rec.redis! : parseRedisUrl(config.redis.url!),
    embedded: [],
    servers: () => [],
    stop: async () => undefined,
  };
}
