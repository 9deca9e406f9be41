import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { AuditService } from '../../src/audit';
import { cgroupDirsFor, cgroupPids, importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';
import { processAlive } from '../utils/processes';

/**
 * Fail closed, absolutely, on the real kernel (issue 13, point 4): `container.started` is
 * acknowledged by Redis while the shim's process waits before execve (READY); when it cannot
 * be, the shim is told to abort (EOF on its control fd) and the command never runs. The
 * command appends a line to a marker file in the container's writable layer: the proof.
 */
describe('fail-closed start (real shim)', () => {
  let w: TestWarden;
  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-test-failclosed-${process.pid}` });
    await importBusybox(w);
  });
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

  const create = async () => {
    const r = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['sh', '-c', 'echo ran >> /runs'] },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  const runs = (id: string) => {
    const f = path.join(w.dataDir, 'containers', id, 'layer', 'upper', 'runs');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
  };
  const startedEvents = async (id: string) =>
    Number(
      (
        await query<{ n: string }>(
          `SELECT count(*) AS n FROM audit_events WHERE type = 'container.started' AND subject = $1`,
          [id],
        )
      )[0].n,
    );
  /** Once this event is committed, so is everything recorded before it (one worker, in order). */
  async function trailSettled(): Promise<void> {
    const e = await w.app
      .get(AuditService)
      .record({ type: 'api.call', principal: 'fail-closed', source: { via: 'system' as const } });
    await eventually(
      'the marker event committed',
      async () => (await query(`SELECT 1 FROM audit_events WHERE id = $1`, [e.id])).length === 1,
    );
  }

  /** Starts `id` with its Redis paused (SIGSTOP of the test's own redis-server), then resumes it. */
  async function startPaused(id: string) {
    const pid = w.redis.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      return await api(w, 'POST', `/containers/${id}/start`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('a prepared start with Redis paused: 503, the waiting process aborted, the command never ran', async () => {
    const id = await create();
    const waiting = await eventually('the prepared process in its cgroup', async () => cgroupPids(id)[0]);
    const res = await startPaused(id);
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/Redis did not take the audit job/);
    expect(processAlive(waiting)).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
    expect(runs(id)).toBe(0);
    expect((await api(w, 'GET', `/containers/${id}`)).body.state).toBe('created');
    await trailSettled();
    expect(await startedEvents(id)).toBe(0); // the late add was voided
    // Redis answering again: it starts, runs once, recorded once.
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
    expect((await api(w, 'POST', `/containers/${id}/wait`)).body.statusCode).toBe(0);
    expect(runs(id)).toBe(1);
    await trailSettled();
    expect(await startedEvents(id)).toBe(1);
    await api(w, 'DELETE', `/containers/${id}`);
  });

  it('a start from scratch (an exited container) with Redis paused: 503 and no second run', async () => {
    const id = await create();
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
    await api(w, 'POST', `/containers/${id}/wait`);
    expect(runs(id)).toBe(1);
    const res = await startPaused(id);
    expect(res.status).toBe(503);
    expect(runs(id)).toBe(1);
    expect(cgroupDirsFor(id)).toEqual([]);
    expect((await api(w, 'GET', `/containers/${id}`)).body.state).toBe('exited');
    await trailSettled();
    expect(await startedEvents(id)).toBe(1);
    await api(w, 'DELETE', `/containers/${id}`);
  });

  it('Redis stopped: the start is refused at once (503), nothing ran', async () => {
    const id = await create();
    await eventually('the prepared process in its cgroup', async () => cgroupPids(id)[0]);
    await w.redis.stop();
    const t0 = Date.now();
    const res = await api(w, 'POST', `/containers/${id}/start`);
    expect([res.status, Date.now() - t0 < 1500]).toEqual([503, true]);
    expect(res.body.message).toMatch(/Redis did not take the audit job/);
    expect(runs(id)).toBe(0);
    expect(cgroupDirsFor(id)).toEqual([]);
    expect((await api(w, 'GET', `/containers/${id}`)).body.state).toBe('created');
  });
});
