import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, processesMentioning, startCli, waitHealthy, type CliProcess } from '../utils/cli';
import { importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { api } from '../utils/warden';

/**
 * Restart policies and health checks across Warden's own restarts (issue 15, points 2-3 on
 * top of point 1): `always` and `unless-stopped` containers come back when Warden starts —
 * after live restore found them exited, and with live restore off after a clean stop — a
 * client's stop of an `unless-stopped` one holds, a paused container is adopted paused, and
 * health checks go on after adoption.
 */
describe('restart policies when Warden starts again', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-policies-'));
  const parent = `restart-restore-${process.pid}`;
  let env: Record<string, string>;
  const w = { url: '' };
  let warden: CliProcess | undefined;

  const up = async (extra: Record<string, string> = {}) => {
    warden = startCli(['up'], { ...env, ...extra });
    await waitHealthy(w.url, warden);
  };
  const cleanStop = async () => {
    warden!.child.kill('SIGINT');
    expect(await warden!.exit).toBe(0);
    warden = undefined;
  };
  const get = async (id: string) => (await api(w, 'GET', `/containers/${id}`)).body;
  const run = async (name: string, body: Record<string, unknown>) => {
    const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', name, ...body } });
    expect(c.status).toBe(201);
    expect((await api(w, 'POST', `/containers/${c.body.id}/start`)).status).toBe(200);
    return c.body.id as string;
  };

  beforeAll(async () => {
    ({ env, url: w.url } = await cliWardenEnv(dataDir, parent, { WARDEN_STOP_TIMEOUT: '2' }));
    await up();
    await importBusybox(w);
  });
  afterAll(async () => {
    if (!warden) await up().catch(() => undefined);
    if (warden) {
      const all = (await api(w, 'GET', '/containers?all=true')).body as Array<{ id: string }>;
      for (const c of all) await api(w, 'DELETE', `/containers/${c.id}?force=true`);
      await cleanStop();
    }
    expect(processesMentioning(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const ids: Record<string, string> = {};

  it('live restore: an exit while Warden was down is restarted by its policy; a stopped unless-stopped stays down, a stopped always comes back; paused stays paused with its health check', async () => {
    ids.always = await run('always', { cmd: ['sleep', '300'], restart: 'always' });
    ids.quitter = await run('quitter', { cmd: ['sh', '-c', 'sleep 3; exit 4'], restart: 'unless-stopped' });
    ids.held = await run('held', { cmd: ['sleep', '300'], restart: 'unless-stopped' });
    ids.stoppedAlways = await run('stopped-always', { cmd: ['sleep', '300'], restart: 'always' });
    ids.paused = await run('paused', {
      cmd: ['sleep', '300'],
      healthcheck: { test: 'true', interval: '300ms' },
    });
    expect((await api(w, 'POST', `/containers/${ids.held}/stop?t=0`)).status).toBe(200);
    expect((await api(w, 'POST', `/containers/${ids.stoppedAlways}/stop?t=0`)).status).toBe(200);
    await eventually(
      'the health check to pass',
      async () => (await get(ids.paused)).health?.Status === 'healthy',
    );
    expect((await api(w, 'POST', `/containers/${ids.paused}/pause`)).status).toBe(200);
    const alwaysPid = (await get(ids.always)).pid;

    await cleanStop(); // live restore (the default): the containers keep running
    await new Promise((r) => setTimeout(r, 4000)); // quitter exits with 4 meanwhile
    await up();

    expect(await get(ids.always)).toMatchObject({ state: 'running', pid: alwaysPid, restartCount: 0 });
    // Recorded with its real code, then restarted by its policy.
    const quitter = await eventually('quitter to be restarted', async () => {
      const c = await get(ids.quitter);
      return c.state === 'running' && c.restartCount === 1 ? c : undefined;
    });
    expect(quitter.manuallyStopped).toBe(false);
    // The trail commits in batches (a worker process here): the exit is there once its batch is.
    const died = await eventually('the recorded exit', async () => {
      const r = await api(w, 'GET', `/audit/events?type=container.died&subject=${ids.quitter}`);
      return (r.body.events as Array<{ payload: { restart?: { restartCount?: number } } }>).find(
        (e) => e.payload.restart?.restartCount === 1,
      );
    });
    expect(died.payload).toMatchObject({
      exitCode: 4,
      restart: { policy: 'unless-stopped', restarting: true, restartCount: 1 },
    });
    // Docker's: a client's stop holds for unless-stopped; always comes back when the engine starts.
    expect(await get(ids.held)).toMatchObject({ state: 'exited', manuallyStopped: true });
    await eventually(
      'stopped-always to come back',
      async () => (await get(ids.stoppedAlways)).state === 'running',
    );

    expect((await get(ids.paused)).state).toBe('paused');
    const before = (await get(ids.paused)).health;
    expect(before.Status).toBe('healthy');
    expect((await api(w, 'POST', `/containers/${ids.paused}/unpause`)).status).toBe(200);
    await eventually('probes after adoption', async () => {
      const h = (await get(ids.paused)).health;
      return h.Log.at(-1).Start !== before.Log.at(-1).Start && h.Status === 'healthy';
    });
  });

  it('live restore off: a clean stop kills them; always and unless-stopped come back at the next start, a stopped unless-stopped does not', async () => {
    await cleanStop();
    await up({ WARDEN_LIVE_RESTORE: 'false' });
    // Adopted by this start (they outlived the previous one), so its own stop is what ends them.
    await cleanStop();
    await up({ WARDEN_LIVE_RESTORE: 'false' });
    // The clean stop left each exited (a stop by Warden is not restarted in-process); only the
    // start brings them back. quitter exits every 3 s, so it may be between runs.
    for (const name of ['always', 'quitter', 'stoppedAlways'])
      await eventually(`${name} to come back`, async () =>
        ['running', 'restarting'].includes((await get(ids[name])).state),
      );
    expect(await get(ids.held)).toMatchObject({ state: 'exited' });
    // No policy: stays down.
    expect((await get(ids.paused)).state).toBe('exited');
  });
});
