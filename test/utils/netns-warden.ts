import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerSave } from '../fixtures/images/archives';
import { busyboxImage } from '../fixtures/images/fixture-images';
import type { BuiltImage } from '../fixtures/images/oci-image';
import { assertBuilt, cliEnv, ROOT } from './cli';
import { DockerCli } from './docker-cli';
import { removeDataDir } from './data-dir';
import { eventually, freshDatabase, freshRedis } from './services';
import { ADMIN_TOKEN } from './warden';

/**
 * A whole Warden (`warden up`, compiled) inside a network namespace of its own (issue 16,
 * point 8): `unshare -n`, its loopback up, and nothing else. Its bridges, veths, addresses,
 * nft rules and aardvark-dns live and die in that namespace; the machine's own is never
 * touched. PostgreSQL and Redis are reached on their unix sockets, the Docker API on its
 * socket file (a path: the docker CLI outside reaches it), and anything on the namespace's
 * addresses through `inNetns` (nsenter into it).
 */
export interface NetnsWarden {
  pid: number;
  dataDir: string;
  socket: string;
  docker: DockerCli;
  /** The namespace's nsfs path, for `nsenter --net=`. */
  netns: string;
  /** Runs a command inside the namespace (nsenter --net); throws with its output on failure. */
  inNetns(
    cmd: string[],
    opts?: { allowFail?: boolean; timeoutMs?: number },
  ): { code: number; stdout: string; stderr: string };
  /** What the namespace holds beyond its loopback: links and nft rules, counted. */
  footprint(): Footprint;
  output(): string;
  /**
   * Stops Warden (`SIGKILL`: as a crash; `SIGTERM`: a clean stop) and starts another in the
   * same namespace, on the same database, data dir and socket; containers outlive it (live
   * restore). A holder process keeps the namespace while no Warden is in it.
   */
  restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  close(): Promise<void>;
}

export interface Footprint {
  links: string[];
  addresses: string[];
  rules: number;
  aardvark: string[];
}

let started = 0;

export async function startNetnsWarden(env: Record<string, string> = {}): Promise<NetnsWarden> {
  assertBuilt();
  const [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-'));
  const socket = path.join(dataDir, 'docker.sock');
  const wardenEnv = {
    WARDEN_DATA_DIR: dataDir,
    WARDEN_DOCKER_SOCKET: socket,
    WARDEN_PORT: '8484',
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    WARDEN_LOG_LEVEL: 'warn',
    WARDEN_UP_WORKERS: 'inline',
    WARDEN_NETWORKING: 'bridge',
    WARDEN_CGROUP_PARENT: `network-test-${process.pid}-${++started}`,
    ...env,
  };
  // unshare execs the shell in the new namespace, the shell execs setpriv, setpriv execs node:
  // one pid from here to Warden, so the namespace is /proc/<pid>/ns/net. The parent-death
  // signal stops a Warden whose test run died.
  let child: ChildProcess = spawn(
    'unshare',
    [
      '-n',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec setpriv --pdeathsig=SIGKILL -- "$0" "$@"',
      process.execPath,
      path.join(ROOT, 'bin', 'warden.js'),
      'up',
    ],
    { env: cliEnv(wardenEnv), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const watch = (c: ChildProcess) => {
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    return new Promise<void>((resolve) => c.on('exit', () => resolve()));
  };
  let exited = watch(child);
  const pid = child.pid!;
  let netns = `/proc/${pid}/ns/net`;
  let holder: ChildProcess | undefined;
  const hostNetns = fs.readlinkSync('/proc/self/ns/net');

  const inNetns: NetnsWarden['inNetns'] = (cmd, opts = {}) => {
    // Never in the machine's namespace: the pid must still be ours and in its own.
    if (fs.readlinkSync(netns) === hostNetns) throw new Error('refusing: the Warden is in the host netns');
    const r = spawnSync('nsenter', [`--net=${netns}`, '--', ...cmd], {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 20000,
    });
    const res = {
      code: r.status ?? -1,
      stdout: r.stdout ?? '',
      stderr: `${r.stderr ?? ''}${r.error ? ` (${r.error.message})` : ''}${r.signal ? ` (${r.signal})` : ''}`,
    };
    if (res.code !== 0 && !opts.allowFail)
      throw new Error(`in netns: ${cmd.join(' ')} → ${res.code}\n${res.stdout}${res.stderr}`);
    return res;
  };

  const aardvarkDir = path.join(dataDir, 'network', 'netavark', 'aardvark-dns');
  const footprint = (): Footprint => {
    const links = (JSON.parse(inNetns(['ip', '-j', 'link']).stdout) as Array<{ ifname: string }>)
      .map((l) => l.ifname)
      .filter((n) => n !== 'lo');
    const addresses = (
      JSON.parse(inNetns(['ip', '-j', 'addr']).stdout) as Array<{
        ifname: string;
        addr_info: Array<{ local: string }>;
      }>
    )
      .filter((l) => l.ifname !== 'lo')
      .flatMap((l) => l.addr_info.map((a) => `${l.ifname}:${a.local}`));
    const ruleset = JSON.parse(inNetns(['nft', '-j', 'list', 'ruleset']).stdout) as {
      nftables: Array<Record<string, unknown>>;
    };
    const rules = ruleset.nftables.filter((e) => 'rule' in e).length;
    const aardvark = fs.existsSync(aardvarkDir)
      ? fs
          .readdirSync(aardvarkDir)
          .filter((f) => !f.endsWith('.pid') && !f.endsWith('.lock'))
          .flatMap((f) =>
            fs.readFileSync(path.join(aardvarkDir, f), 'utf8').split('\n').slice(1).filter(Boolean),
          )
      : [];
    return { links, addresses, rules, aardvark };
  };

  const docker = new DockerCli(socket);
  const answering = async () => {
    await eventually(
      `Warden in its netns to answer on ${socket} (output so far:\n${out.slice(-2000)})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`warden exited ${child.exitCode}:\n${out.slice(-3000)}`);
        return (await ping(socket)) === 200;
      },
      90000,
    );
  };
  try {
    await answering();
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stop = async (signal: 'SIGKILL' | 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30000)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const restart = async (signal: 'SIGKILL' | 'SIGTERM') => {
    if (!holder) {
      holder = spawn(
        'nsenter',
        [`--net=${netns}`, '--', 'setpriv', '--pdeathsig=SIGKILL', '--', 'sleep', '100000'],
        {
          stdio: 'ignore',
        },
      );
      const held = `/proc/${holder.pid}/ns/net`;
      await eventually('the namespace holder', async () =>
        fs.existsSync(held) && fs.readlinkSync(held) === fs.readlinkSync(netns) ? true : undefined,
      );
      netns = held;
    }
    await stop(signal);
    child = spawn(
      'nsenter',
      [
        `--net=${netns}`,
        '--',
        'setpriv',
        '--pdeathsig=SIGKILL',
        '--',
        process.execPath,
        path.join(ROOT, 'bin', 'warden.js'),
        'up',
      ],
      { env: cliEnv(wardenEnv), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = watch(child);
    await answering();
  };

  return {
    pid,
    dataDir,
    socket,
    docker,
    get netns() {
      return netns;
    },
    inNetns,
    footprint,
    output: () => out,
    restart,
    close: async () => {
      await stop('SIGTERM');
      holder?.kill('SIGKILL');
      // aardvark-dns is a daemon netavark started for this Warden: ours to stop if left.
      const pidFile = path.join(aardvarkDir, 'aardvark.pid');
      if (fs.existsSync(pidFile)) {
        const apid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        if (
          apid > 0 &&
          fs.existsSync(`/proc/${apid}`) &&
          fs.readFileSync(`/proc/${apid}/cmdline`, 'utf8').includes(dataDir)
        )
          process.kill(apid, 'SIGKILL');
      }
      docker.cleanup();
      await redis.stop();
      await db.drop();
      removeDataDir(dataDir);
    },
  };
}

function ping(socketPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, method: 'GET', path: '/_ping' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** `docker …` that must succeed: its stdout, trimmed; a failure throws with Warden's output. */
export function dockerOk(w: NetnsWarden): (args: string[]) => Promise<string> {
  return async (args) => {
    const r = await w.docker.run(args);
    if (r.code !== 0)
      throw new Error(
        `docker ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}\n${w.output().slice(-2000)}`,
      );
    return r.stdout.trim();
  };
}

/** The audit events of a type, newest first, once there is one (REST, inside the namespace). */
export function auditTrail(
  w: NetnsWarden,
  type: string,
): Promise<Array<{ subject: string; payload: Record<string, unknown> }>> {
  return eventually(`a ${type} event`, async () => {
    const r = w.inNetns([
      'curl',
      '-sf',
      '-H',
      `authorization: Bearer ${ADMIN_TOKEN}`,
      `http://127.0.0.1:8484/audit/events?type=${type}&order=desc`,
    ]);
    const events = JSON.parse(r.stdout).events as Array<{
      subject: string;
      payload: Record<string, unknown>;
    }>;
    return events.length ? events : undefined;
  });
}

/** A REST call inside the namespace (its TCP port is there), as the admin: status and JSON body. */
export function rest(
  w: NetnsWarden,
  method: string,
  urlPath: string,
  body?: unknown,
): { status: number; body: Record<string, unknown> } {
  const r = w.inNetns([
    'curl',
    '-s',
    '-w',
    '\n%{http_code}',
    '-X',
    method,
    '-H',
    `authorization: Bearer ${ADMIN_TOKEN}`,
    '-H',
    'content-type: application/json',
    ...(body === undefined ? [] : ['--data', JSON.stringify(body)]),
    `http://127.0.0.1:8484${urlPath}`,
  ]);
  const nl = r.stdout.lastIndexOf('\n');
  const text = r.stdout.slice(0, nl);
  return { status: Number(r.stdout.slice(nl + 1)), body: text ? JSON.parse(text) : {} };
}

/** Binds a new enforce-mode policy with these rules to the Docker socket's root principal. */
export function bindPolicy(w: NetnsWarden, name: string, rules: Record<string, unknown>): void {
  const created = rest(w, 'POST', '/policies', { name, mode: 'enforce', rules });
  if (created.status >= 300) throw new Error(`policy ${name}: ${JSON.stringify(created.body)}`);
  const activated = rest(w, 'POST', `/policies/${name}/activate`, { versionId: created.body.id });
  if (activated.status !== 200) throw new Error(`activate ${name}: ${JSON.stringify(activated.body)}`);
  const bound = rest(w, 'POST', `/policies/${name}/bindings`, { kind: 'principal', value: 'docker-root' });
  if (bound.status >= 300) throw new Error(`bind ${name}: ${JSON.stringify(bound.body)}`);
}

/**
 * The usual network suite: one Warden in its own netns for the describe block it is called
 * in, with the busybox fixture loaded; every container removed after each test; closed at the
 * end. `w` once its beforeAll ran; `ok` runs a docker command that must succeed.
 */
export function netnsSuite(): { readonly w: NetnsWarden; ok(args: string[]): Promise<string> } {
  let current: NetnsWarden | undefined;
  beforeAll(async () => {
    current = await startNetnsWarden();
    await loadBusybox(current);
  });
  afterAll(async () => {
    await current?.close();
  });
  afterEach(async () => {
    if (current) await removeAllContainers(current);
  });
  const suite = {
    get w(): NetnsWarden {
      if (!current) throw new Error('the netns Warden has not started');
      return current;
    },
    ok: (args: string[]) => dockerOk(suite.w)(args),
  };
  return suite;
}

/** Removes every container, so a failed test does not leave its own to the next one's counts. */
export async function removeAllContainers(w: NetnsWarden): Promise<void> {
  const ids = (await w.docker.run(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await w.docker.run(['rm', '-f', ...ids]);
}

/** Loads the busybox fixture through the Docker socket (`docker load`), tagged `tag`; `config` as an image's (EXPOSE, …). */
export async function loadBusybox(
  w: Pick<NetnsWarden, 'socket'>,
  tag = 'busybox:1.35',
  config: Parameters<typeof busyboxImage>[0] = {},
): Promise<void> {
  await loadImage(w, await busyboxImage(config), tag);
}

/** Loads a built image through the Docker socket (`docker load`), tagged `tag`. */
export async function loadImage(
  w: Pick<NetnsWarden, 'socket'>,
  image: BuiltImage,
  tag: string,
): Promise<void> {
  const tar = await dockerSave(image, [tag]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        socketPath: w.socket,
        method: 'POST',
        path: '/images/load?quiet=1',
        headers: { 'content-type': 'application/x-tar', 'content-length': tar.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(tar);
  });
  if (status !== 200) throw new Error(`docker load: ${status}`);
}
