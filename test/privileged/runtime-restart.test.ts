import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, processesMentioning, startCli, waitHealthy } from '../utils/cli';
import { cgroupDirsFor, cgroupPids, importBusybox } from '../utils/containers';
import { mountsUnder } from '../utils/data-dir';
import { eventually } from '../utils/services';
import { api } from '../utils/warden';
import { processAlive } from '../utils/processes';

/**
 * kill -9 of Warden with containers running and live restore off (WARDEN_LIVE_RESTORE=false),
 * then a new start: what the previous process left is killed, nothing may be orphaned
 * (processes, cgroups, mounts), states must be right, and what happened must be audited.
 * With live restore on (the default) the containers are adopted instead: live-restore.test.ts.
 */
describe('Warden killed with containers running, live restore off, then started again', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-restart-'));
  const parent = `warden-restart-${process.pid}`;
  let env: Record<string, string>;
  const w = { url: '' };

  beforeAll(async () => {
    ({ env, url: w.url } = await cliWardenEnv(dataDir, parent, { WARDEN_LIVE_RESTORE: 'false' }));
  });
  afterAll(() => {
    expect(processesMentioning(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('kills and records what the previous process left, and leaves nothing behind', async () => {
    const first = startCli(['up'], env);
    await waitHealthy(w.url, first);
    await importBusybox(w);
    const ids: string[] = [];
    const pids: number[] = [];
    for (const name of ['left-1', 'left-2']) {
      const c = await api(w, 'POST', '/containers', {
        body: { image: 'busybox:1.35', name, cmd: ['sleep', '300'] },
      });
      const started = await api(w, 'POST', `/containers/${c.body.id}/start`);
      ids.push(c.body.id);
      pids.push(started.body.pid);
    }
    // A created container's prepared start waits in its cgroup (see ContainerLauncher).
    const created = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'created-only', cmd: ['sleep', '300'] },
    });
    const waiting = await eventually('the prepared start', async () => cgroupPids(created.body.id)[0]);
    // A removed container's layer went back to the pool (baseline's 10 GiB), mounted and idle.
    const gone = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', cmd: ['true'] } });
    expect((await api(w, 'DELETE', `/containers/${gone.body.id}`)).status).toBe(204);
    const pool = path.join(dataDir, 'layer-pool');
    expect(mountsUnder(pool).length).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exit;
    // Its shim lost the control socket: it kills what waits, and exits.
    await eventually('the prepared start to end with Warden', async () => !processAlive(waiting));
    for (const pid of pids) expect(processAlive(pid)).toBe(true); // orphaned for now
    for (const id of ids) expect(cgroupDirsFor(id).length).toBeGreaterThan(0);

    const second = startCli(['up'], env);
    await waitHealthy(w.url, second);
    await eventually('the orphans to be gone', async () => pids.every((pid) => !processAlive(pid)));
    for (const id of ids) {
      expect(cgroupDirsFor(id)).toEqual([]);
      const c = await api(w, 'GET', `/containers/${id}`);
      expect(c.body).toMatchObject({ state: 'exited', exitCode: 137 });
      expect(c.body.error).toMatch(/live restore is off .* previous Warden process ended/);
      const died = await eventually('recovery audit', async () => {
        const ev = await api(w, 'GET', `/audit/events?type=container.died&subject=${id}`);
        return ev.body.events[0];
      });
      // The shim watched the process and recorded its end: the kill's real status.
      expect(died.payload).toMatchObject({ exitCode: 137, signal: 'SIGKILL', error: c.body.error });
    }
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dataDir);
    // The killed run's pool went at the start, images and loop devices with it.
    expect(fs.existsSync(pool)).toBe(false);
    expect(execFileSync('losetup', ['-a'], { encoding: 'utf8' })).not.toContain(pool);
    // The created container is still created; the cgroup its preparation left is gone.
    expect((await api(w, 'GET', `/containers/${created.body.id}`)).body.state).toBe('created');
    expect(cgroupDirsFor(created.body.id)).toEqual([]);

    // the containers can run again under the new process
    const again = await api(w, 'POST', `/containers/${ids[0]}/start`);
    expect(again.body.state).toBe('running');
    const prepared = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['sleep', '300'] },
    });
    await eventually('a new prepared start', async () => cgroupPids(prepared.body.id)[0]);
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
    // a clean stop kills what runs (and what a new preparation holds), records it, and leaves no cgroup
    expect(cgroupDirsFor(ids[0])).toEqual([]);
    expect(cgroupDirsFor(prepared.body.id)).toEqual([]);
  });
});
