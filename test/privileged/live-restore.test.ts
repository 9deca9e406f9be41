import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, processesMentioning, startCli, waitHealthy, type CliProcess } from '../utils/cli';
import { cgroupDirsFor, importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { DockerCli } from '../utils/docker-cli';
import { api, socketAsAdmin } from '../utils/warden';
import { processAlive } from '../utils/processes';

/**
 * Live restore (issue 15, point 1): containers outlive Warden. Their shims watch them, write
 * their output and their exit, and the next Warden on the same data dir adopts what still
 * runs and records what ended meanwhile with its real exit code and time.
 */

/** The process tree under `root`, stopping at the shims: Warden's own processes, not its containers'. */
function wardenProcesses(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      /* gone */
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    let exe = '';
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return;
    }
    if (exe.endsWith('warden-shim')) return;
    found.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return found;
}

const alive = processAlive;

describe('live restore: containers outlive Warden', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-live-'));
  const parent = `restore-live-${process.pid}`;
  let env: Record<string, string>;
  const w = { url: '' };
  let warden: CliProcess | undefined;

  const up = async (extra: Record<string, string> = {}) => {
    warden = startCli(['up'], { ...env, ...extra });
    await waitHealthy(w.url, warden);
    return warden;
  };
  const cleanStop = async () => {
    warden!.child.kill('SIGINT');
    expect(await warden!.exit).toBe(0);
    warden = undefined;
  };
  const get = async (id: string) => (await api(w, 'GET', `/containers/${id}`)).body;
  const logs = async (id: string) => {
    const body = (await api(w, 'GET', `/containers/${id}/logs`)).body as unknown;
    // NDJSON; a single line parses as one JSON object in api().
    const entries = (
      typeof body === 'string'
        ? body
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [body]
    ) as Array<{ log: string }>;
    return entries.map((e) => e.log).join('');
  };
  const run = async (name: string, script: string) => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name, cmd: ['sh', '-c', script] },
    });
    expect(c.status).toBe(201);
    const s = await api(w, 'POST', `/containers/${c.body.id}/start`);
    expect(s.status).toBe(200);
    return { id: c.body.id as string, pid: s.body.pid as number };
  };
  // Exits 0 on SIGTERM, so a stop after adoption shows the process's own answer.
  const service = (i: number) =>
    `trap 'echo bye-${i}; exit 0' TERM; echo up-${i}; while :; do sleep 0.2; done`;

  beforeAll(async () => {
    ({ env, url: w.url } = await cliWardenEnv(dataDir, parent, { WARDEN_STOP_TIMEOUT: '5' }));
    await up();
    await importBusybox(w);
  });
  afterAll(async () => {
    if (warden) {
      // A test that failed midway: nothing of its containers may outlive the file.
      const all = (await api(w, 'GET', '/containers?all=true')).body as Array<{ id: string }>;
      for (const c of all) await api(w, 'DELETE', `/containers/${c.id}?force=true`);
      warden.child.kill('SIGINT');
      await warden.exit;
    }
    expect(processesMentioning(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const services: Array<{ id: string; pid: number }> = [];
  const quitters: Array<{ id: string; pid: number }> = [];

  it('kill -9 of every Warden process: 15 keep running and are adopted, 5 that exit meanwhile keep their codes and times', async () => {
    for (let i = 0; i < 15; i++) services.push(await run(`svc-${i}`, service(i)));
    for (let i = 0; i < 5; i++) quitters.push(await run(`quit-${i}`, `echo going-${i}; sleep 4; exit 7`));
    const killed = wardenProcesses(warden!.child.pid!);
    expect(killed.length).toBeGreaterThanOrEqual(3); // warden, its PostgreSQL, its Redis (and workers)
    const killedAt = Date.now();
    for (const pid of killed) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // a short-lived helper, gone
      }
    }
    await warden!.exit;
    warden = undefined;
    await eventually('every Warden process to be gone', async () => killed.every((p) => !alive(p)));

    // Nobody watches now: the shims do. The 5 exit; their shims record it.
    for (const s of services) expect(alive(s.pid)).toBe(true);
    await eventually(
      'the 5 exits to be recorded by their shims',
      async () =>
        quitters.every((q) => fs.existsSync(path.join(dataDir, 'containers', q.id, 'state', 'exit.json'))),
      20_000,
    );
    const downUntil = Date.now();

    await up();
    for (const s of services) {
      expect(await get(s.id)).toMatchObject({ state: 'running', pid: s.pid });
      expect(alive(s.pid)).toBe(true);
    }
    for (const q of quitters) {
      const c = await get(q.id);
      expect(c).toMatchObject({ state: 'exited', exitCode: 7 });
      // The time it ended, not the time Warden found out.
      expect(Date.parse(c.finishedAt)).toBeGreaterThan(killedAt);
      expect(Date.parse(c.finishedAt)).toBeLessThanOrEqual(downUntil);
      expect(await logs(q.id)).toBe(`going-${quitters.indexOf(q)}\n`);
    }

    // The trail tells the story: one span of downtime, with the exits in it.
    const down = await eventually('the service.down event', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=service.down');
      return ev.body.events[0];
    });
    expect(Date.parse(down.payload.from)).toBeLessThanOrEqual(killedAt);
    expect(Date.parse(down.payload.to)).toBeGreaterThanOrEqual(downUntil);
    expect(down.payload).toMatchObject({ clean: false, hostRebooted: false });
    expect([...down.payload.adopted].sort()).toEqual(services.map((s) => s.id).sort());
    expect([...down.payload.exited].sort()).toEqual(quitters.map((q) => q.id).sort());
    expect(down.payload.dead).toEqual([]);
    for (const q of quitters) {
      const died = await eventually('the exit in the trail', async () => {
        const ev = await api(w, 'GET', `/audit/events?type=container.died&subject=${q.id}`);
        return ev.body.events[0];
      });
      expect(died.payload).toMatchObject({ exitCode: 7, signal: null });
      expect(Date.parse(died.occurredAt)).toBeLessThanOrEqual(downUntil);
    }
  });

  it('adopted containers: logs, exec, stats, wait, stop, kill and rm -f work', async () => {
    const [a, b, c, d] = services;
    expect(await logs(a.id)).toBe('up-0\n');
    const exec = await api(w, 'POST', `/containers/${a.id}/exec`, { body: { cmd: ['echo', 'inside'] } });
    expect(exec.body).toMatchObject({ exitCode: 0, stdout: 'inside\n' });
    const stats = await api(w, 'GET', `/containers/${a.id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body.stats.pids.current).toBeGreaterThan(0);

    // docker logs -f on the adopted container: what is on disk, then live output (written by
    // an exec to PID 1's stdout, which is the shim's pipe), until it stops.
    // The containers are the REST admin's: the CLI (uid 0) reaches them as an admin.
    await socketAsAdmin(w);
    const docker = new DockerCli(path.join(dataDir, 'docker.sock'));
    const follower = docker.spawn(['logs', '-f', a.id]);
    follower.stdin!.end();
    let followed = '';
    follower.stdout!.on('data', (d) => (followed += d));
    const followerDone = new Promise((r) => follower.once('close', r));
    try {
      await eventually('logs -f to show what is on disk', async () => followed === 'up-0\n');
      const echo = await api(w, 'POST', `/containers/${a.id}/exec`, {
        body: { cmd: ['sh', '-c', 'echo live > /proc/1/fd/1'] },
      });
      expect(echo.body).toMatchObject({ exitCode: 0 });
      await eventually('logs -f to show live output', async () => followed === 'up-0\nlive\n');

      // wait registered before the stop; the stop's SIGTERM is answered by the trap: exit 0.
      const waited = api(w, 'POST', `/containers/${a.id}/wait`);
      const stopped = await api(w, 'POST', `/containers/${a.id}/stop`);
      expect(stopped.body).toMatchObject({ state: 'exited', exitCode: 0 });
      expect((await waited).body).toMatchObject({ statusCode: 0 });
      await followerDone; // the follow ends with the container
      expect(followed).toBe('up-0\nlive\nbye-0\n');
      expect(await logs(a.id)).toBe('up-0\nlive\nbye-0\n');
    } finally {
      follower.kill('SIGKILL');
      docker.cleanup();
    }

    expect((await api(w, 'POST', `/containers/${b.id}/kill`)).status).toBe(204);
    expect(await get(b.id)).toMatchObject({ state: 'exited', exitCode: 137 });

    expect((await api(w, 'DELETE', `/containers/${c.id}?force=true`)).status).toBe(204);
    expect(alive(c.pid)).toBe(false);
    expect(cgroupDirsFor(c.id)).toEqual([]);

    // An adopted container started again runs under this Warden like any other.
    expect((await api(w, 'POST', `/containers/${a.id}/start`)).body.state).toBe('running');
    expect(alive(d.pid)).toBe(true);
  });

  it('a clean stop leaves containers running (live restore on); the next start adopts them, and marks dead what vanished', async () => {
    const running = (await api(w, 'GET', '/containers')).body as Array<{
      id: string;
      pid: number;
      shimPid: number;
    }>;
    expect(running.length).toBeGreaterThan(10);
    await cleanStop();
    for (const c of running) expect(alive(c.pid)).toBe(true);
    // While nobody watches: one shim is killed (its container runs on, but its exit could no
    // longer be recorded), and one container vanishes with its shim (no exit recorded).
    const [orphan, vanished, ...rest] = running;
    process.kill(orphan.shimPid, 'SIGKILL');
    process.kill(vanished.shimPid, 'SIGKILL');
    await eventually(
      'the two shims to be gone',
      async () => !alive(orphan.shimPid) && !alive(vanished.shimPid),
    );
    process.kill(vanished.pid, 'SIGKILL');
    await eventually('the vanished container to be gone', async () => !alive(vanished.pid));

    await up();
    const down = await eventually('the second service.down event', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=service.down');
      return ev.body.events.length === 2 ? ev.body.events[1] : undefined;
    });
    expect(down.payload).toMatchObject({ clean: true, exited: [] });
    expect([...down.payload.dead].sort()).toEqual([orphan.id, vanished.id].sort());
    expect(down.payload.adopted).toHaveLength(rest.length);
    for (const c of rest) expect(await get(c.id)).toMatchObject({ state: 'running', pid: c.pid });
    const o = await get(orphan.id);
    expect(o).toMatchObject({ state: 'dead', exitCode: 255 });
    expect(o.error).toMatch(/shim is gone.*killed/);
    expect(alive(orphan.pid)).toBe(false);
    expect(cgroupDirsFor(orphan.id)).toEqual([]);
    const v = await get(vanished.id);
    expect(v).toMatchObject({ state: 'dead', exitCode: 255 });
    expect(v.error).toMatch(/process and its shim are gone/);
    const died = await eventually('the dead one in the trail', async () => {
      const ev = await api(w, 'GET', `/audit/events?type=container.died&subject=${orphan.id}`);
      return ev.body.events[0];
    });
    expect(died.payload).toMatchObject({ state: 'dead', exitCode: 255, signal: 'SIGKILL' });
    expect(died.payload.processesKilled).toBeGreaterThanOrEqual(1); // sh, and its sleep if caught
    // A dead container can only be removed.
    expect((await api(w, 'POST', `/containers/${orphan.id}/start`)).status).toBe(409);
    expect((await api(w, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('WARDEN_LIVE_RESTORE=false: what runs is killed at start and at a clean stop; after removal nothing is left', async () => {
    const left = (await api(w, 'GET', '/containers')).body as Array<{
      id: string;
      pid: number;
      shimPid: number;
    }>;
    await cleanStop();
    // Started with live restore off, Warden ends what the previous one left running.
    await up({ WARDEN_LIVE_RESTORE: 'false' });
    for (const c of left) {
      expect(alive(c.pid)).toBe(false);
      const now = await get(c.id);
      expect(now).toMatchObject({ state: 'exited', exitCode: 137 });
      expect(now.error).toMatch(/live restore is off/);
    }
    // And its clean stop kills what it runs.
    const fresh = [await run('fresh-0', service(100)), await run('fresh-1', service(101))];
    await cleanStop();
    for (const c of fresh) expect(alive(c.pid)).toBe(false);
    await up({ WARDEN_LIVE_RESTORE: 'false' });
    for (const c of fresh) expect(await get(c.id)).toMatchObject({ state: 'exited', exitCode: 137 });

    const all = (await api(w, 'GET', '/containers?all=true')).body as Array<{ id: string }>;
    expect(all.length).toBe(21); // 15 + 5 + 2, less the one removed with rm -f (2 of them dead)
    for (const c of all) expect((await api(w, 'DELETE', `/containers/${c.id}?force=true`)).status).toBe(204);
    expect((await api(w, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
    await cleanStop();
    // Nothing orphaned: no process, shim, cgroup, mount or container dir.
    for (const c of [...services, ...quitters, ...fresh]) expect(alive(c.pid)).toBe(false);
    for (const c of left) expect(alive(c.shimPid)).toBe(false);
    for (const c of all) expect(cgroupDirsFor(c.id)).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dataDir);
    expect(fs.readdirSync(path.join(dataDir, 'containers'))).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});
