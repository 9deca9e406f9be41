/**
 * Claim (issue 6): `docker run --rm --network none busybox:1.35 /bin/true` through the real
 * docker CLI is at least 4× faster against Warden's Docker API than against podman's
 * Docker-compatible service (`podman system service`, runc, network none) — one run, both.
 *
 *   bash bench/run.sh docker-run          (DOCKER_RUN_BENCH_N=30 runs each by default)
 *
 * Warden runs in this process (`up`, embedded PostgreSQL and Redis in a temp dir); the CLI is
 * a child process, so the timed path is the CLI's whole run: ping, create, attach, wait,
 * start, exit, removal. podman gets private containers.conf/storage.conf in the same temp
 * dir (DESIGN.md: cgroupfs, runc, netns none, ulimits this machine allows) and the same
 * busybox image, loaded from the same docker-save archive. If podman cannot run here, the
 * table says why and still shows Warden's numbers.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { dockerSave } from '../test/fixtures/images/archives';
import { busyboxImage } from '../test/fixtures/images/fixture-images';
import { importBusybox } from '../test/utils/containers';
import { ADMIN_TOKEN } from '../test/utils/warden';

const N = Number(process.env.DOCKER_RUN_BENCH_N ?? 30);
const WARMUP = 3;
const DOCKER = process.env.DOCKER_BIN ?? '/usr/local/bin/docker';
const TARGET = 4;
const RUN = ['run', '--rm', '--network', 'none', 'busybox:1.35', '/bin/true'];

function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ code: -1, out: String(err) }));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Wall time of each `docker run`, in ms; spawned asynchronously so Warden's loop keeps running. */
async function timeRuns(socket: string, configDir: string): Promise<number[]> {
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir };
  const times: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = process.hrtime.bigint();
    const r = await exec(DOCKER, RUN, env);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.code !== 0) throw new Error(`docker ${RUN.join(' ')} exited ${r.code}: ${r.out.trim()}`);
    if (i >= WARMUP) times.push(ms);
  }
  return times;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function waitFor(file: string, child: ChildProcess, output: () => string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`podman system service exited: ${output().trim()}`);
    if (Date.now() > deadline) throw new Error(`podman socket did not appear: ${output().trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** podman's Docker API with a private config, or the reason it cannot run here. */
async function benchPodman(tmp: string, archive: string, configDir: string): Promise<number[] | string> {
  const dir = path.join(tmp, 'podman');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    [
      '[containers]',
      'netns = "none"',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'runtime = "runc"',
      'events_logger = "file"',
      `tmp_dir = "${dir}/tmp"`,
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'storage.conf'),
    ['[storage]', 'driver = "overlay"', `runroot = "${dir}/run"`, `graphroot = "${dir}/graph"`].join('\n'),
  );
  const env = {
    ...process.env,
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
  };
  const load = await exec('podman', ['load', '-i', archive], env);
  if (load.code !== 0) return `podman load failed (${load.code}): ${load.out.trim().split('\n').pop()}`;
  const socket = path.join(dir, 'podman.sock');
  const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  service.stdout.on('data', (d) => (output += d));
  service.stderr.on('data', (d) => (output += d));
  try {
    await waitFor(socket, service, () => output);
    return await timeRuns(socket, configDir);
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => (service.exitCode !== null ? r(null) : service.once('exit', r)));
    await exec('podman', ['system', 'reset', '--force'], env).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-docker-'));
  const configDir = path.join(tmp, 'docker-config');
  fs.mkdirSync(configDir);
  const archive = path.join(tmp, 'busybox.tar');
  fs.writeFileSync(archive, await dockerSave(await busyboxImage(), ['busybox:1.35']));

  const socket = path.join(tmp, 'warden.sock');
  const config = loadConfig({
    WARDEN_DATA_DIR: path.join(tmp, 'warden'),
    WARDEN_PORT: '0',
    WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
    WARDEN_LOG_LEVEL: 'error',
    WARDEN_DOCKER_SOCKET: socket,
    WARDEN_CGROUP_PARENT: `warden-bench-${process.pid}`,
  });
  const warden = await startWarden('up', config, pino({ level: 'error' }));
  let wardenTimes: number[];
  try {
    await importBusybox({ url: warden.url as string });
    wardenTimes = await timeRuns(socket, configDir);
  } finally {
    await warden.stop();
  }
  const podman = await benchPodman(tmp, archive, configDir);
  fs.rmSync(tmp, { recursive: true, force: true });

  const rows: string[][] = [['Warden (docker CLI → unix socket)', ...stats(wardenTimes)]];
  let met: boolean | undefined;
  if (typeof podman === 'string')
    rows.push(['podman system service (runc, netns none)', 'n/a', 'n/a', podman]);
  else {
    rows.push(['podman system service (runc, netns none)', ...stats(podman)]);
    const ratio = pct(podman, 0.5) / pct(wardenTimes, 0.5);
    met = ratio >= TARGET;
    rows.push([
      'target',
      `Warden ≥ ${TARGET}× faster (median)`,
      `${ratio.toFixed(1)}×`,
      met ? 'met' : 'MISSED',
    ]);
  }
  const head = ['engine', 'median ms', 'p95 ms', 'notes'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n\`docker ${RUN.join(' ')}\`, ${N} runs each after ${WARMUP} warm-up runs\n`);
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  if (met === false) process.exitCode = 1;

  function stats(xs: number[]): string[] {
    return [pct(xs, 0.5).toFixed(1), pct(xs, 0.95).toFixed(1), `min ${Math.min(...xs).toFixed(1)}`];
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
