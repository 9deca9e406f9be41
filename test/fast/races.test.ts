import { api, startFastWarden, type FastWarden } from './harness';

/**
 * The races measured against the engine (issue 13), driven through the fake shim: each
 * pair of verbs at once on one container serialises or answers 409/404 — never 5xx — and
 * leaves one consistent container (or none): no process, cgroup or live entry without it.
 */
describe('lifecycle races (fake shim, real PostgreSQL)', () => {
  let w: FastWarden;
  let n = 0;
  beforeAll(async () => (w = await startFastWarden()));
  afterAll(() => w.close());

  async function create(cmd = ['sleep', '300']): Promise<{ id: string; name: string }> {
    const name = `r${n++}`;
    const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', name, cmd } });
    expect(c.status).toBe(201);
    return { id: c.body.id, name };
  }

  async function running(): Promise<{ id: string; name: string }> {
    const c = await create();
    expect((await api(w, 'POST', `/containers/${c.name}/start`)).status).toBe(200);
    return c;
  }

  const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status).sort();
  const no5xx = (rs: Array<{ status: number; body: unknown }>) =>
    expect(rs.filter((r) => r.status >= 500).map((r) => r.body)).toEqual([]);

  /** Nothing of the container is left: row, live entry, cgroup, process. */
  async function gone(c: { id: string; name: string }) {
    expect((await api(w, 'GET', `/containers/${c.name}`)).status).toBe(404);
    expect(w.live.get(c.id)).toBeUndefined();
    expect(await w.cgroups.list()).not.toContain(c.id);
  }

  it('two starts of one created container: one starts it, the other answers 304; one process', async () => {
    const c = await create(['sleep', 'two-starts']);
    const rs = await Promise.all([1, 2].map(() => api(w, 'POST', `/containers/${c.name}/start`)));
    no5xx(rs);
    expect(statuses(rs)).toEqual([200, 304]);
    const runs = w.shim.launches.filter((l) => l.args[1] === 'two-starts');
    expect(runs.filter((l) => w.shim.isAlive(l.pid))).toHaveLength(1);
    expect((await api(w, 'GET', `/containers/${c.name}`)).body.state).toBe('running');
  });

  it('five starts at once, each on its own container and on one: never 5xx', async () => {
    const c = await create();
    const rs = await Promise.all([...Array(5)].map(() => api(w, 'POST', `/containers/${c.id}/start`)));
    no5xx(rs);
    expect(statuses(rs)).toEqual([200, 304, 304, 304, 304]);
  });

  it('kill then force-remove at once: the remove finds the exit recorded (or the kill 404s), never 5xx', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await running();
      const [kill, rm] = await Promise.all([
        api(w, 'POST', `/containers/${c.name}/kill`),
        api(w, 'DELETE', `/containers/${c.name}?force=true`),
      ]);
      no5xx([kill, rm]);
      expect([204, 404, 409]).toContain(kill.status);
      expect(rm.status).toBe(204);
      await gone(c);
    }
  });

  it('a cgroup that disappears under a kill counts as gone (freezer.state ENOENT), not 500', async () => {
    const c = await running();
    const cg = await w.cgroups.open(c.id);
    // The kernel's view: the cgroup went (as when the exit's cleanup removes it first).
    const real = cg!.killAll.bind(cg);
    const entry = w.live.get(c.id)!;
    entry.cgroup.killAll = async (signal) => {
      await real(signal);
      const err = Object.assign(new Error(`write ${cg!.paths.freezer}/freezer.state: ENOENT`), {
        code: 'ENOENT',
      });
      throw err;
    };
    const rm = await api(w, 'DELETE', `/containers/${c.name}?force=true`);
    expect([rm.status, rm.body]).toEqual([204, '']);
    await gone(c);
  });

  it('concurrent removes of one container: one 204, the rest 404 or 409, never 5xx', async () => {
    const c = await create(['exit', '3']);
    expect((await api(w, 'POST', `/containers/${c.name}/start`)).status).toBe(200);
    await api(w, 'POST', `/containers/${c.name}/wait`);
    const rs = await Promise.all([...Array(6)].map(() => api(w, 'DELETE', `/containers/${c.id}`)));
    no5xx(rs);
    expect(rs.filter((r) => r.status === 204)).toHaveLength(1);
    expect(rs.every((r) => [204, 404, 409].includes(r.status))).toBe(true);
    await gone(c);
  });

  it('17 force removes at once of running containers: all 204, and the list is empty when they answer', async () => {
    const cs = await Promise.all([...Array(17)].map(() => running()));
    const rs = await Promise.all(cs.map((c) => api(w, 'DELETE', `/containers/${c.id}?force=true`)));
    no5xx(rs);
    expect(statuses(rs)).toEqual(Array(17).fill(204));
    const left = (await api(w, 'GET', '/containers?all=true')).body.map((c: { id: string }) => c.id);
    expect(left.filter((id: string) => cs.some((c) => c.id === id))).toEqual([]);
    for (const c of cs) await gone(c);
  });

  it('after kill (SIGKILL) inspect never says running: 10 of 10', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await running();
      expect((await api(w, 'POST', `/containers/${c.name}/kill`)).status).toBe(204);
      const after = (await api(w, 'GET', `/containers/${c.name}`)).body;
      expect([after.state, after.exitCode]).toEqual(['exited', 137]);
    }
  });

  it('start and remove at once on a created container: one consistent outcome, no orphan process', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await create(['sleep', `start-rm-${i}`]);
      const [start, rm] = await Promise.all([
        api(w, 'POST', `/containers/${c.name}/start`),
        api(w, 'DELETE', `/containers/${c.name}`),
      ]);
      no5xx([start, rm]);
      if (rm.status === 204) {
        expect([404, 200]).toContain(start.status);
        if (start.status === 200) throw new Error('started a container that was removed first');
        await gone(c);
      } else {
        expect([start.status, rm.status, rm.body.detail?.state]).toEqual([200, 409, 'running']);
      }
      const procs = w.shim.launches.filter((l) => l.args[1] === `start-rm-${i}` && w.shim.isAlive(l.pid));
      expect(procs).toHaveLength(rm.status === 204 ? 0 : 1);
      if (rm.status !== 204) await api(w, 'DELETE', `/containers/${c.name}?force=true`);
    }
  });

  it('stop, kill, restart and exec at once on one running container: never 5xx, ends consistent', async () => {
    const c = await running();
    const rs = await Promise.all([
      api(w, 'POST', `/containers/${c.name}/stop?t=1`),
      api(w, 'POST', `/containers/${c.name}/kill`),
      api(w, 'POST', `/containers/${c.name}/restart?t=1`),
      api(w, 'POST', `/containers/${c.name}/exec`, { body: { cmd: ['echo', 'x'] } }),
      api(w, 'POST', `/containers/${c.name}/kill?signal=HUP`),
    ]);
    no5xx(rs);
    // SIGHUP is answered once delivered: the exit it causes may still be on its way.
    await new Promise((r) => setTimeout(r, 100));
    const entry = w.live.get(c.id);
    if (entry?.exiting) await entry.finished;
    const now = (await api(w, 'GET', `/containers/${c.name}`)).body;
    expect(['running', 'exited']).toContain(now.state);
    expect(w.live.get(c.id) !== undefined).toBe(now.state === 'running');
  });
});
