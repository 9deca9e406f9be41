import { Client } from 'pg';
import { AuditService } from '../../src/audit';
import { WardenError } from '../../src/platform/errors';
import { api, startFastWarden, type FastWarden } from './harness';

/**
 * Fail closed, absolutely (issue 13, point 4): a start is on the record — `container.started`
 * acknowledged by Redis — while its process still waits before execve. When it cannot be,
 * the process is aborted, its command never runs, and the client gets 503 with the reason.
 * And an add Redis answers only after its caller was refused (a paused server) never lands
 * on the trail: its job is voided before the refusal (src/audit/job-claims.ts).
 */
describe('fail-closed start (fake shim, real Redis paused)', () => {
  let w: FastWarden;
  let n = 0;
  beforeAll(async () => (w = await startFastWarden()));
  afterAll(() => w.close());

  async function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = new Client({ connectionString: w.databaseUrl });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as R[];
    } finally {
      await c.end();
    }
  }

  async function create(tag: string): Promise<{ id: string; name: string }> {
    const name = `fc${n++}`;
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name, cmd: ['sleep', tag] },
    });
    expect(c.status).toBe(201);
    return { id: c.body.id, name };
  }

  const launchesOf = (tag: string) => w.shim.launches.filter((l) => l.args.includes(tag));
  const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  /** Every event recorded before this one is committed once this one is (one worker, in order). */
  async function trailSettled(): Promise<void> {
    const e = await w.app
      .get(AuditService)
      .record({ type: 'api.call', principal: 'fail-closed-test', source: { via: 'system' as const } });
    await until(
      'the marker event',
      async () => (await query(`SELECT 1 FROM audit_events WHERE id = $1`, [e.id])).length === 1,
    );
  }

  const startedEvents = async (id: string) =>
    (
      await query<{ n: string }>(
        `SELECT count(*) AS n FROM audit_events WHERE type = 'container.started' AND subject = $1`,
        [id],
      )
    )[0].n;

  it('Redis paused: the start answers 503 within its bound, the command never ran, no started event ever lands', async () => {
    const c = await create('fc-paused');
    await until('the prepared start', () => launchesOf('fc-paused').length === 1);
    const [prepared] = launchesOf('fc-paused');
    const paused = w.redis.pid;
    process.kill(paused, 'SIGSTOP');
    let res: Awaited<ReturnType<typeof api>>;
    const t0 = Date.now();
    try {
      res = await api(w, 'POST', `/containers/${c.name}/start`);
    } finally {
      process.kill(paused, 'SIGCONT');
    }
    const ms = Date.now() - t0;
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/Redis did not take the audit job .*nothing was done/);
    // The add's 2.5 s, then at most a second for its void.
    expect(ms).toBeLessThan(2500 + 1000 + 1500);
    expect(w.shim.processes.get(prepared.pid)!.execd).toBe(false);
    expect(w.shim.isAlive(prepared.pid)).toBe(false);
    expect(await w.cgroups.open(c.id)).toBeNull();
    expect((await api(w, 'GET', `/containers/${c.name}`)).body.state).toBe('created');
    // The add ran once Redis resumed; its job was voided first, so nothing of it is committed.
    await trailSettled();
    expect(await startedEvents(c.id)).toBe('0');
    // Redis back: the same container starts, once, recorded once.
    const again = await api(w, 'POST', `/containers/${c.name}/start`);
    expect([again.status, again.body.state]).toEqual([200, 'running']);
    await trailSettled();
    expect(await startedEvents(c.id)).toBe('1');
    expect((await api(w, 'DELETE', `/containers/${c.name}?force=true`)).status).toBe(204);
  });

  it('the record refused outright (Redis down): 503 with the reason, the waiting process aborted before exec', async () => {
    const c = await create('fc-down');
    await until('the prepared start', () => launchesOf('fc-down').length === 1);
    const [prepared] = launchesOf('fc-down');
    const audit = w.app.get(AuditService);
    const real = audit.record.bind(audit);
    const spy = jest.spyOn(audit, 'record').mockImplementation(async (input, opts) => {
      if (input.type !== 'container.started') return real(input, opts);
      throw new WardenError(
        'REDIS_UNAVAILABLE',
        'Redis did not take the audit job (down), so nothing was done',
        {
          server: 'redis',
        },
      );
    });
    try {
      const res = await api(w, 'POST', `/containers/${c.name}/start`);
      expect([res.status, res.body.message]).toEqual([
        503,
        'Redis did not take the audit job (down), so nothing was done',
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(w.shim.processes.get(prepared.pid)!.execd).toBe(false);
    expect(w.shim.isAlive(prepared.pid)).toBe(false);
    expect((await api(w, 'GET', `/containers/${c.name}`)).body.state).toBe('created');
    // Not prepared any more: the next start sets up anew, records, then lets the process go.
    const again = await api(w, 'POST', `/containers/${c.name}/start`);
    expect([again.status, again.body.state]).toEqual([200, 'running']);
    const [, second] = launchesOf('fc-down');
    expect(w.shim.processes.get(second.pid)!.execd).toBe(true);
    expect((await api(w, 'DELETE', `/containers/${c.name}?force=true`)).status).toBe(204);
  });
});
