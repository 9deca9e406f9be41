import { api, startFastWarden, type FastWarden } from './harness';

/**
 * The restart state machine through the fake shim (issue 15, point 2), beside the real
 * docker CLI tests (test/e2e/docker-restart.test.ts): exits of a `restarting` container's runs,
 * what each verb does to it, and an exit while paused.
 */
describe('restart policies and exits (fake shim, real PostgreSQL)', () => {
  let w: FastWarden;
  let n = 0;
  beforeAll(async () => (w = await startFastWarden()));
  afterAll(() => w.close());

  const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 10000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const get = async (name: string) => (await api(w, 'GET', `/containers/${name}`)).body;
  const run = async (cmd: string[], restart?: string) => {
    const name = `r${n++}`;
    const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', name, cmd, restart } });
    expect(c.status).toBe(201);
    expect((await api(w, 'POST', `/containers/${name}/start`)).status).toBe(200);
    return name;
  };

  it('on-failure:2: two restarts of a failing run, counted, then exited with its code', async () => {
    const name = await run(['exit', '3'], 'on-failure:2');
    const c = await until('the last exit', async () => {
      const now = await get(name);
      return now.state === 'exited' && now.restartCount === 2 ? now : undefined;
    });
    expect(c).toMatchObject({ exitCode: 3, manuallyStopped: false });
    await new Promise((r) => setTimeout(r, 500));
    expect(await get(name)).toMatchObject({ state: 'exited', restartCount: 2 });
    // Its last exit's cleanup done (the cgroup goes after the row says exited).
    await until('the live entry to go', async () => (w.live.get(c.id) ? undefined : true));
  });

  it('a restarting container: start is 304, rm is 409 unless forced, stop calls the restart off', async () => {
    const name = await run(['exit', '1'], 'always');
    await until('restarting', async () => ((await get(name)).state === 'restarting' ? true : undefined));
    const seen = await get(name);
    expect(seen.exitCode).toBe(1);
    // Within its backoff (100 ms at first) the verbs meet it restarting, or in its next short run.
    const start = await api(w, 'POST', `/containers/${name}/start`);
    expect([200, 304]).toContain(start.status);
    const stop = await api(w, 'POST', `/containers/${name}/stop?t=1`);
    expect(stop.status).toBe(200);
    const stopped = await get(name);
    expect(stopped).toMatchObject({ state: 'exited', manuallyStopped: true });
    await new Promise((r) => setTimeout(r, 600));
    expect(await get(name)).toMatchObject({ state: 'exited', restartCount: stopped.restartCount });

    const other = await run(['exit', '1'], 'unless-stopped');
    await until('restarting', async () => ((await get(other)).state === 'restarting' ? true : undefined));
    const rm = await api(w, 'DELETE', `/containers/${other}`);
    expect(rm.status).toBe(409);
    expect(rm.body.message).toMatch(/is (restarting|running): cannot remove/);
    expect((await api(w, 'DELETE', `/containers/${other}?force=true`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(w, 'GET', `/containers/${other}`)).status).toBe(404);
  });

  it('an exit while paused is recorded (it used to leave the row paused for ever)', async () => {
    const name = await run(['sleep', '300']);
    expect((await api(w, 'POST', `/containers/${name}/pause`)).status).toBe(200);
    const { id, pid } = await get(name);
    expect((await get(name)).state).toBe('paused');
    // The process dies under the freezer (a v2 freezer lets SIGKILL through; an OOM kill).
    w.shim.processes.get(pid)!.end({ exitCode: 137, signal: 'SIGKILL' });
    const c = await until('the exit', async () => {
      const now = await get(name);
      return now.state === 'exited' ? now : undefined;
    });
    expect(c.exitCode).toBe(137);
    // No longer watched once its exit is recorded (the row is written first).
    await until('the live entry to go', async () => (w.live.get(id) ? undefined : true));
  });
});
