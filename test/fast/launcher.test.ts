import { api, startFastWarden, type FastWarden } from './harness';

/**
 * The launcher through the fake shim: a create prepares the start (cgroup + shim up to
 * execve), the start lets that process go instead of launching another, a removal kills
 * what waits, and a command that cannot run ends exited 127 with nothing left behind.
 */
describe('launcher and prepared starts (fake shim)', () => {
  let w: FastWarden;
  let n = 0;
  beforeAll(async () => (w = await startFastWarden()));
  afterAll(() => w.close());

  async function create(cmd: string[]): Promise<{ id: string; name: string }> {
    const name = `l${n++}`;
    const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', name, cmd } });
    expect(c.status).toBe(201);
    return { id: c.body.id, name };
  }

  const launchesOf = (tag: string) => w.shim.launches.filter((l) => l.args.includes(tag));
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!check()) throw new Error(`timed out waiting for ${what}`);
  };

  it('create prepares the start in the container cgroup; start lets that one process go', async () => {
    const c = await create(['sleep', 'prepared-1']);
    await until('the prepared start', () => launchesOf('prepared-1').length === 1);
    const [prepared] = launchesOf('prepared-1');
    expect(prepared.prepared).toBe(true);
    const cg = await w.cgroups.open(c.id);
    expect(await cg!.pids()).toEqual([prepared.pid]);
    const started = await api(w, 'POST', `/containers/${c.name}/start`);
    expect([started.status, started.body.state, started.body.pid]).toEqual([200, 'running', prepared.pid]);
    expect(launchesOf('prepared-1')).toHaveLength(1);
    expect(w.sys.calls.filter((x) => x.call === 'pidfdOpen' && x.args[0] === prepared.pid)).toHaveLength(1);
    expect((await api(w, 'DELETE', `/containers/${c.name}?force=true`)).status).toBe(204);
    expect(w.shim.isAlive(prepared.pid)).toBe(false);
    expect(await w.cgroups.open(c.id)).toBeNull();
    expect(w.sys.openPidfds()).toBe(0);
  });

  it('removing a created container kills its waiting process and removes its cgroup', async () => {
    const c = await create(['sleep', 'prepared-2']);
    await until('the prepared start', () => launchesOf('prepared-2').length === 1);
    const [prepared] = launchesOf('prepared-2');
    expect((await api(w, 'DELETE', `/containers/${c.name}`)).status).toBe(204);
    expect(w.shim.isAlive(prepared.pid)).toBe(false);
    expect(await w.cgroups.open(c.id)).toBeNull();
  });

  it('a second run after an exit launches anew (no preparation left), in a fresh cgroup', async () => {
    const c = await create(['exit', '0', 'rerun']);
    expect((await api(w, 'POST', `/containers/${c.name}/start`)).status).toBe(200);
    await api(w, 'POST', `/containers/${c.name}/wait`);
    expect((await api(w, 'POST', `/containers/${c.name}/start`)).status).toBe(200);
    await api(w, 'POST', `/containers/${c.name}/wait`);
    // Both stop before execve (the second start sets up anew): a start is recorded before its
    // command runs (fail-closed-start.test.ts).
    expect(launchesOf('rerun').map((l) => l.prepared)).toEqual([true, true]);
    expect(await w.cgroups.open(c.id)).toBeNull();
  });

  it('a command that cannot run: 400, exited 127, nothing left; an auto-remove one goes', async () => {
    const c = await create(['/missing/cmd']);
    const r = await api(w, 'POST', `/containers/${c.name}/start`);
    expect([r.status, r.body.code, r.body.message]).toEqual([
      400,
      'CONTAINER_COMMAND_INVALID',
      'failed to start container: exec /missing/cmd: ENOENT',
    ]);
    expect((await api(w, 'GET', `/containers/${c.name}`)).body).toMatchObject({
      state: 'exited',
      exitCode: 127,
    });
    expect(await w.cgroups.open(c.id)).toBeNull();
    const auto = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['/missing/cmd'], autoRemove: true },
    });
    expect((await api(w, 'POST', `/containers/${auto.body.id}/start`)).status).toBe(400);
    expect((await api(w, 'GET', `/containers/${auto.body.id}`)).status).toBe(404);
  });

  it('auto-remove after a normal exit: wait condition=removed answers once it is gone', async () => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['exit', '4'], autoRemove: true },
    });
    const removed = api(w, 'POST', `/containers/${c.body.id}/wait?condition=removed`);
    await new Promise((r) => setTimeout(r, 50));
    expect((await api(w, 'POST', `/containers/${c.body.id}/start`)).status).toBe(200);
    expect((await removed).body).toEqual({ statusCode: 4, oomKilled: false });
    expect((await api(w, 'GET', `/containers/${c.body.id}`)).status).toBe(404);
  });
});
