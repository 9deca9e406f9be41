import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  exited,
  freePort,
  Logger,
  spawnSupervised,
  stopChild,
  tailOutput,
  waitFor,
  waitForStalePid,
  which,
} from '../process';
import { RedisEndpoint } from './redis-endpoint';

/**
 * Debian's redis-server, run by Warden when no REDIS_URL is given. Its state lives under
 * `$WARDEN_DATA_DIR/redis` with AOF on, so jobs the API accepted (audit events waiting for
 * Postgres, say) survive a restart of Warden or of Redis. `appendfsync everysec`: a crash of
 * the whole machine may lose the last second; a crash of Warden loses nothing, because the
 * parent-death signal is SIGTERM, on which Redis flushes the AOF before it exits.
 *
 * It listens on a private unix socket (mode 0700) when the path fits the 108-byte limit,
 * otherwise on a free loopback port with a generated password.
 */
export interface EmbeddedRedisHandle {
  endpoint: RedisEndpoint;
  pid: number;
  stop(): Promise<void>;
}

const SUN_PATH_MAX = 107;

function ping(endpoint: RedisEndpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = endpoint.path ? net.connect(endpoint.path) : net.connect(endpoint.port!, endpoint.host);
    const auth = endpoint.password ? `AUTH ${endpoint.password}\r\n` : '';
    let buf = '';
    sock.setTimeout(1000);
    sock.on('connect', () => sock.write(`${auth}PING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('+PONG')) {
        sock.destroy();
        resolve(true);
      } else if (buf.includes('-LOADING')) {
        sock.destroy();
        resolve(false);
      }
    });
    sock.on('error', () => resolve(false));
    sock.on('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

export async function startEmbeddedRedis(rootDir: string, log: Logger): Promise<EmbeddedRedisHandle> {
  const server = which('redis-server');
  if (!server) {
    throw new Error(
      "redis-server not found: install Debian's package (apt-get install redis-server), or set REDIS_URL",
    );
  }
  fs.mkdirSync(rootDir, { recursive: true, mode: 0o700 });
  const pidFile = path.join(rootDir, 'redis.pid');
  if (fs.existsSync(pidFile)) {
    const stale = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (stale > 0) await waitForStalePid(stale, 'redis-server', 'SIGTERM', log);
  }

  const socketPath = path.join(rootDir, 'redis.sock');
  let endpoint: RedisEndpoint;
  const listen: string[] = [];
  if (Buffer.byteLength(socketPath) <= SUN_PATH_MAX) {
    fs.rmSync(socketPath, { force: true });
    endpoint = { path: socketPath };
    listen.push('port 0', `unixsocket ${socketPath}`, 'unixsocketperm 700');
  } else {
    const port = await freePort();
    const password = randomBytes(24).toString('hex');
    endpoint = { host: '127.0.0.1', port, password };
    listen.push('bind 127.0.0.1', `port ${port}`, `requirepass ${password}`);
  }
  const conf = [
    ...listen,
    `dir ${rootDir}`,
    `pidfile ${pidFile}`,
    'daemonize no',
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    // BullMQ needs every key kept: eviction would silently drop queued jobs.
    'maxmemory-policy noeviction',
    'protected-mode yes',
    'logfile ""',
    'loglevel notice',
  ].join('\n');
  const confFile = path.join(rootDir, 'redis.conf');
  fs.writeFileSync(confFile, `${conf}\n`, { mode: 0o600 });

  const child = spawnSupervised(server, [confFile], { deathSignal: 'SIGTERM', cwd: rootDir });
  const tail = tailOutput(child, log, 'redis');
  let gone = false;
  void exited(child).then(() => (gone = true));
  try {
    await waitFor(
      'embedded redis-server to answer PING',
      async () => {
        if (gone) throw new Error(`redis-server exited during start:\n${tail()}`);
        return ping(endpoint);
      },
      30000,
    );
  } catch (err) {
    await stopChild(child, 'SIGTERM', 10000);
    throw err;
  }
  log.info(
    `embedded redis-server ready on ${endpoint.path ?? `127.0.0.1:${endpoint.port}`} (AOF in ${rootDir})`,
  );
  return { endpoint, pid: child.pid!, stop: () => stopChild(child, 'SIGTERM', 30000) };
}
