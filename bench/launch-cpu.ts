/**
 * Where the host's CPU goes per REST launch (issue 4, diagnostic, no target): N launches of
 * /bin/true in busybox (create, wait, start, wait answered, then DELETE, from a client in its
 * own process as in bench/launch), with every process's CPU time read from /proc before and
 * after. Once for each role in LAUNCH_CPU_ROLES (default `up,up-inline,serve`): `up` as
 * deployed (the API here, its queue workers in a child process at nice 10: needs dist/
 * built); `up-inline` with the workers on the API's event loop (WARDEN_UP_WORKERS=inline);
 * `serve` with no worker at all, so its row shows what the launch path alone costs (its
 * events wait in Redis, unprocessed); and `crun`, the anchor of bench/launch (`crun run` of
 * the same layer from a shell, as there), for what a launch costs the host without a service.
 *
 *   bash bench/run.sh launch-cpu                 (N=300 per role after 20 warm-up launches)
 *   LAUNCH_BENCH_N=100 LAUNCH_CPU_ROLES=up bash bench/run.sh launch-cpu
 *
 * "host busy" is /proc/stat's non-idle time on all CPUs: everything the launches made the
 * machine do. The shims and container processes are reaped by the service and gone by the
 * second reading, so their CPU is in "rest" (host busy minus the processes listed), with
 * anything else that ran on the host meanwhile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { busyboxLayerTar } from '../test/fixtures/images/fixture-images';
import { CRUN, installed, removeCgroupTree, ShellDriver, writeBundle } from './lib/anchors';
import { BENCH_TOKEN, IMAGE, startBenchWarden, summary } from './lib/bench-warden';
import { startRestClient, type LaunchTiming } from './lib/rest-client';

const N = Number(process.env.LAUNCH_BENCH_N ?? 300);
const WARMUP = 20;
type Role = 'up' | 'up-inline' | 'serve' | 'crun';
const ROLES = (process.env.LAUNCH_CPU_ROLES ?? 'up,up-inline,serve,crun').split(',') as Role[];
const TICK_MS = 1000 / 100; // USER_HZ

/** Non-idle jiffies of all CPUs (user, nice, system, irq, softirq, steal). */
function hostBusy(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - f[3] - f[4];
}

/**
 * utime + stime of every live process, in jiffies, grouped; a group named in `withChildren`
 * also counts the CPU of its processes' reaped children (cutime + cstime): the shims and
 * containers the service reaps, the `crun` processes the anchor's shell reaps, PostgreSQL's
 * exited backends.
 */
function processTicks(
  groupOf: (pid: number, comm: string, ours: boolean) => string,
  withChildren: ReadonlySet<string> = new Set(),
): Map<string, number> {
  const procs: Array<{ pid: number; ppid: number; comm: string; self: number; children: number }> = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      procs.push({
        pid: Number(e),
        ppid: Number(f[1]),
        comm: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')),
        self: Number(f[11]) + Number(f[12]),
        children: Number(f[13]) + Number(f[14]),
      });
    } catch {
      // exited while we looked
    }
  }
  // Ours: this process and its descendants. Other people's PostgreSQL and redis-server
  // instances on a shared host have the same names and must not be counted.
  const parent = new Map(procs.map((p) => [p.pid, p.ppid]));
  const ours = (pid: number) => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  const out = new Map<string, number>();
  for (const p of procs) {
    const g = groupOf(p.pid, p.comm, ours(p.pid));
    out.set(g, (out.get(g) ?? 0) + p.self + (withChildren.has(g) ? p.children : 0));
  }
  return out;
}

const GROUPS = ['service', 'worker', 'postgres', 'redis', 'client', 'kernel threads'] as const;

/** N `crun run`s of /bin/true timed by a shell, as bench/launch's crun row; 'other' holds crun's own CPU. */
async function measureCrun() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-launch-cpu-'));
  const cgroup = `warden-bench-anchor-${process.pid}`;
  const bundle = writeBundle(path.join(dir, 'oci'), await busyboxLayerTar(), cgroup);
  const d = await ShellDriver.start(CRUN.prefix, CRUN.env, path.join(dir, 'crun.err'));
  const run = async (i: number) => {
    const r = await d.time(CRUN.run(`${dir}/state`, bundle, `c${i}`));
    if (r.rc !== 0) throw new Error(`crun exited ${r.rc}: ${d.lastErrors()}`);
    return r.ms;
  };
  try {
    for (let i = 0; i < WARMUP; i++) await run(i);
    const groupOf = (_pid: number, comm: string, _ours: boolean) =>
      /^(kworker|ksoftirqd|rcu_|migration|kdamond)/.test(comm) ? 'kernel threads' : 'other';
    // The anchor's own CPU: its driver shell (a child of this process) and the crun runs it reaped.
    const driverOf = (pid: number, _comm: string, ours: boolean) =>
      ours && pid !== process.pid ? 'own' : 'other';
    const own0 = ownTicks(driverOf);
    const host0 = hostBusy();
    const ticks0 = processTicks(groupOf);
    const ms: number[] = [];
    for (let i = 0; i < N; i++) ms.push(await run(WARMUP + i));
    const host = ((hostBusy() - host0) * TICK_MS) / N;
    const ticks1 = processTicks(groupOf);
    const own = ((ownTicks(driverOf) - own0) * TICK_MS) / N;
    const kernel =
      (((ticks1.get('kernel threads') ?? 0) - (ticks0.get('kernel threads') ?? 0)) * TICK_MS) / N;
    const cpu = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<(typeof GROUPS)[number], number>;
    cpu['kernel threads'] = kernel;
    return {
      role: 'crun' as Role,
      total: summary(ms),
      create: NaN,
      start: NaN,
      exit: NaN,
      host,
      cpu,
      rest: host - kernel,
      own,
    };
  } finally {
    await d.close().catch(() => undefined);
    removeCgroupTree(cgroup);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Jiffies of the processes `groupOf` calls 'own', their reaped children included. */
function ownTicks(groupOf: (pid: number, comm: string, ours: boolean) => string): number {
  return processTicks(groupOf, new Set(['own'])).get('own') ?? 0;
}

async function measure(role: Role) {
  if (role === 'crun') {
    if (!installed('crun'))
      throw new Error('crun is not installed (apt-get install crun), or leave it out of LAUNCH_CPU_ROLES');
    return measureCrun();
  }
  const w = await startBenchWarden(
    role === 'up-inline' ? { WARDEN_UP_WORKERS: 'inline' } : {},
    role === 'serve' ? 'serve' : 'up',
  );
  const client = await startRestClient({ url: w.url, token: BENCH_TOKEN, image: IMAGE });
  try {
    for (let i = 0; i < WARMUP; i++) await client.launch();
    const groupOf = (pid: number, comm: string, ours: boolean): string => {
      if (pid === process.pid) return 'service';
      if (pid === client.pid) return 'client';
      if (pid === w.warden.workerPid()) return 'worker';
      if (ours && comm.startsWith('postgres')) return 'postgres';
      if (ours && comm.startsWith('redis')) return 'redis';
      return /^(kworker|ksoftirqd|rcu_|migration|kdamond)/.test(comm) ? 'kernel threads' : 'other';
    };
    const ownOf = (pid: number, comm: string, ours: boolean) => {
      const g = groupOf(pid, comm, ours);
      return g === 'other' || g === 'kernel threads' ? 'other' : 'own';
    };
    const own0 = ownTicks(ownOf);
    const host0 = hostBusy();
    const ticks0 = processTicks(groupOf);
    const timings: LaunchTiming[] = [];
    for (let i = 0; i < N; i++) timings.push(await client.launch());
    const host = ((hostBusy() - host0) * TICK_MS) / N;
    const ticks1 = processTicks(groupOf);
    const own = ((ownTicks(ownOf) - own0) * TICK_MS) / N;
    const per = (g: string) => (((ticks1.get(g) ?? 0) - (ticks0.get(g) ?? 0)) * TICK_MS) / N;
    const listed = GROUPS.reduce((a, g) => a + per(g), 0);
    return {
      role,
      total: summary(timings.map((t) => t.ms)),
      create: summary(timings.map((t) => t.create)).median,
      start: summary(timings.map((t) => t.start)).median,
      exit: summary(timings.map((t) => t.exit)).median,
      host,
      cpu: Object.fromEntries(GROUPS.map((g) => [g, per(g)])) as Record<(typeof GROUPS)[number], number>,
      rest: host - listed,
      own,
    };
  } finally {
    client.close();
    await w.close();
  }
}

async function main(): Promise<void> {
  const rows = [];
  for (const role of ROLES) {
    rows.push(await measure(role));
    LOADS.set(role, fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  }
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—').padStart(7);
  console.log(
    `REST launches of /bin/true, N=${N} per role after ${WARMUP} warm-up, ${os.cpus().length} CPUs`,
  );
  console.log('');
  console.log('| role         | median ms |  p95 ms | create | start | exit→wait |');
  console.log('|--------------|----------:|--------:|-------:|------:|----------:|');
  for (const r of rows)
    console.log(
      `| ${r.role.padEnd(12)} |   ${f(r.total.median)} | ${f(r.total.p95)} | ${f(r.create)}|${f(r.start)}|   ${f(r.exit)} |`,
    );
  console.log('');
  console.log('CPU ms per launch (DELETE included), from /proc:');
  console.log('');
  console.log(
    '| role         | host busy | service |  worker | postgres |  redis | client | kernel threads | rest (shims, containers, host) |',
  );
  console.log(
    '|--------------|----------:|--------:|--------:|---------:|-------:|-------:|---------------:|-------------------------------:|',
  );
  for (const r of rows)
    console.log(
      `| ${r.role.padEnd(12)} |   ${f(r.host)} | ${f(r.cpu.service)} | ${f(r.cpu.worker)} |  ${f(r.cpu.postgres)} |${f(r.cpu.redis)} |${f(r.cpu.client)} |        ${f(r.cpu['kernel threads'])} |                        ${f(r.rest)} |`,
    );
  printOwn(rows);
}

function printOwn(rows: Array<{ role: Role; host: number; own: number }>): void {
  const crun = rows.find((r) => r.role === 'crun');
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—').padStart(7);
  const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '—').padStart(7);
  console.log('');
  console.log(
    "Own CPU ms per launch: the launcher's processes with the children they reaped (Warden: service, worker, postgres, redis, client, shims, containers; crun: its shell driver and the crun runs), so other people's work on the host is left out:",
  );
  console.log('');
  console.log(
    '| role         | own CPU | ÷ crun own | host busy | ÷ crun host busy | load avg (1 min, after) |',
  );
  console.log(
    '|--------------|--------:|-----------:|----------:|-----------------:|------------------------:|',
  );
  for (const r of rows)
    console.log(
      `| ${r.role.padEnd(12)} | ${f(r.own)} |    ${x(crun ? r.own / crun.own : NaN)} |   ${f(r.host)} |          ${x(crun ? r.host / crun.host : NaN)} | ${(LOADS.get(r.role) ?? '').padStart(23)} |`,
    );
}

const LOADS = new Map<Role, string>();

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
