import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, processesMentioning, startCli, waitHealthy, type CliProcess } from './cli';
import { removeDataDir } from './data-dir';
import { processAlive } from './processes';
import { eventually, freshDatabase, freshRedis } from './services';
import { api } from './warden';

/** One Warden node of a test's fleet: its own process, data dir, port, socket and cgroup parent. */
export interface FleetNode {
  name: string;
  dataDir: string;
  env: Record<string, string>;
  url: string;
  proc?: CliProcess;
}

/** A node on the test's PostgreSQL and Redis (not started: {@link startNode}). */
export async function fleetNode(
  name: string,
  shared: { databaseUrl: string; redisUrl: string; heartbeatTimeoutS: number },
): Promise<FleetNode> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `warden-fleet-${name}-`));
  const { env, url } = await cliWardenEnv(dataDir, `fleet-${name}-${process.pid}`, {
    DATABASE_URL: shared.databaseUrl,
    REDIS_URL: shared.redisUrl,
    WARDEN_NODE_NAME: name,
    WARDEN_NODE_HEARTBEAT_TIMEOUT: String(shared.heartbeatTimeoutS),
    // One process per node: two cores, several nodes.
    WARDEN_UP_WORKERS: 'inline',
    WARDEN_LOG_LEVEL: 'warn',
  });
  return { name, dataDir, env, url };
}

/** The PostgreSQL database and Redis a test's fleet shares, started by the test. */
export async function fleetServices() {
  const [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
  return { db, redis, stop: async () => Promise.all([redis.stop(), db.drop()]) };
}

export async function startNode(n: FleetNode): Promise<void> {
  n.proc = startCli(['up'], n.env);
  await waitHealthy(n.url, n.proc);
}

/**
 * Stops every node still running, after removing the containers it runs (live restore, the
 * CLI's default, would leave them running), checks that nothing of any node is left (no
 * process, no cgroup parent), and stops the shared services.
 */
export async function stopFleet(
  nodes: FleetNode[],
  services?: Awaited<ReturnType<typeof fleetServices>>,
): Promise<void> {
  for (const n of nodes) {
    if (!n.proc || n.proc.child.exitCode !== null || n.proc.child.signalCode !== null) {
      await reapDeadNode(n);
      continue;
    }
    const all = await api(n, 'GET', '/containers?all=true').catch(() => undefined);
    for (const c of (all?.body ?? []) as Array<{ id: string; node: string }>)
      if (c.node === n.name) await api(n, 'DELETE', `/containers/${c.id}?force=true`);
    n.proc.child.kill('SIGINT');
    await n.proc.exit;
  }
  for (const n of nodes) {
    expect(processesMentioning(n.dataDir)).toEqual([]);
    expect(cgroupDirsNamed(n.env.WARDEN_CGROUP_PARENT)).toEqual([]);
    fs.rmSync(n.dataDir, { recursive: true, force: true });
  }
  await services?.stop();
}

/**
 * A node a test killed and never brought back (the test failed before it could) still has its
 * containers running under live restore, with nobody to stop them: their processes are
 * killed by cgroup, their cgroups and mounts removed, so a failed run leaves nothing behind.
 */
async function reapDeadNode(n: FleetNode): Promise<void> {
  const dirs = cgroupDirsNamed(n.env.WARDEN_CGROUP_PARENT);
  const pids = new Set<number>();
  const procsBelow = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) procsBelow(path.join(dir, e.name));
    for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n'))
      if (pid) pids.add(Number(pid));
  };
  for (const d of dirs) procsBelow(d);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  await eventually("the dead node's containers to be gone", async () =>
    [...pids].every((p) => !processAlive(p)),
  );
  const rmTree = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) rmTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
  };
  for (const d of dirs) rmTree(d);
  removeDataDir(n.dataDir);
}

/** Directories of that name in any cgroup hierarchy (v1 nests memory under the service's own). */
function cgroupDirsNamed(name: string, dir = '/sys/fs/cgroup', depth = 5): string[] {
  if (depth === 0) return [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.name === name ? [p] : cgroupDirsNamed(name, p, depth - 1);
    });
}
