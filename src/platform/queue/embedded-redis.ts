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
  ServerRun,
  SupervisedServer,
} from '../process';
import { RedisEndpoint } from './redis-endpoint';

/**
 * Debian's redis-server, run by Warden when no REDIS_URL is given. Its state lives under
 * `$WARDEN_DATA_DIR/redis` with AOF on, so jobs the API accepted (audit events waiting for
 * Postgres, say) survive a restart of Warden or of Redis. `appendfsync always`: a reply to a
 * write means the AOF holds it, so kill -9 of redis-server (or a crash of the machine) loses
 * no acknowledged job. When it dies, a {@link SupervisedServer} starts it again.
 *
 * It listens on a private unix socket (mode 0700) when the path fits the 108-byte limit,
 * otherwise on a free loopback port with a generated password.
 */
export interface EmbeddedRedisHandle {
  endpoint: RedisEndpoint;
  /** The running server's pid (0 while it is down and being restarted). */
  readonly pid: number;
  /** Restarts it when it dies; its state is what /health reports. */
  server: SupervisedServer;
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

  // The address is fixed for the life of this handle: a restarted server listens where the
  // clients (this process's and the worker child's) already reconnect to.
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
    // An enqueue is acknowledged only once it is on disk (Redis fsyncs the AOF before it
    // replies): an audit event the API was told is stored survives kill -9 of redis-server,
    // not only of Warden. Cost on a launch: docs/operations.md ("Durability").
    'appendfsync always',
    'save ""',
    // BullMQ needs every key kept: eviction would silently drop queued jobs.
    'maxmemory-policy noeviction',
    'protected-mode yes',
    'logfile ""',
    'loglevel notice',
  ].join('\n');
  const confFile = path.join(rootDir, 'redis.conf');
  fs.writeFileSync(confFile, `${conf}\n`, { mode: 0o600 });

  const spawnOnce = async (): Promise<ServerRun> => {
    const child = spawnSupervised(server, [confFile], { deathSignal: 'SIGTERM', cwd: rootDir });
    const tail = tailOutput(child, log, 'redis');
    const gone = exited(child);
    let dead = false;
    void gone.then(() => (dead = true));
    try {
      await waitFor(
        'embedded redis-server to answer PING',
        async () => {
          if (dead) throw new Error(`redis-server exited during start:\n${tail()}`);
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
    return { pid: child.pid!, exited: gone, stop: () => stopChild(child, 'SIGTERM', 30000) };
  };
  const supervised = await SupervisedServer.start('redis', spawnOnce, log);
  return {
    endpoint,
    get pid() {
      return supervised.pid ?? 0;
    },
    server: supervised,
    stop: () => supervised.stop(),
  };
}
