import * as http from 'node:http';
import { FrameReader } from '../../src/docker-api/frames';
import { socketRequest } from '../utils/docker-cli';
import { api, startFastWarden, type FastWarden } from './harness';

/**
 * The Docker Engine API on its socket, over the same verbs as REST (fake shim, real
 * PostgreSQL): wait is REST's wait, list filters run in SQL, kill answers after the exit,
 * attach with logs=1&stream=0 answers the logs and ends.
 */
describe('Docker API over the lifecycle verbs (fake shim)', () => {
  let w: FastWarden;
  let n = 0;
  const docker = (method: string, p: string, body?: unknown) =>
    socketRequest(w.dockerSocket, method, `/v1.43${p}`, body);

  beforeAll(async () => {
    w = await startFastWarden();
    const uid = process.getuid?.() ?? 0;
    if (uid !== 0)
      expect(
        (await api(w, 'PUT', `/socket-principals/${uid}`, { body: { principalId: 'docker-root' } })).status,
      ).toBe(200);
  });
  afterAll(() => w.close());

  async function create(
    cmd: string[],
    labels: Record<string, string> = {},
  ): Promise<{ id: string; name: string }> {
    const name = `d${n++}`;
    const r = await docker('POST', `/containers/create?name=${name}`, {
      Image: 'busybox:1.35',
      Cmd: cmd,
      Labels: labels,
    });
    expect([r.status, r.body]).toEqual([201, expect.stringContaining('"Id"')]);
    return { id: JSON.parse(r.body).Id, name };
  }

  it('wait is the lifecycle wait: registered before start, answers the exit code', async () => {
    const c = await create(['exit', '7']);
    const waiting = docker('POST', `/containers/${c.name}/wait?condition=next-exit`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await docker('POST', `/containers/${c.name}/start`)).status).toBe(204);
    const r = await waiting;
    expect([r.status, JSON.parse(r.body)]).toEqual([200, { StatusCode: 7, Error: null }]);
    // not-running on an exited container answers at once, as REST's.
    const again = await docker('POST', `/containers/${c.name}/wait`);
    expect(JSON.parse(again.body).StatusCode).toBe(7);
    expect((await api(w, 'POST', `/containers/${c.name}/wait`)).body).toEqual({
      statusCode: 7,
      oomKilled: false,
    });
    const bad = await docker('POST', `/containers/${c.name}/wait?condition=sometime`);
    expect(bad.status).toBe(400);
  });

  it('attach logs=1&stream=0 on an exited container answers its output and ends', async () => {
    const c = await create(['echo', 'hello', 'attach']);
    expect((await docker('POST', `/containers/${c.name}/start`)).status).toBe(204);
    await docker('POST', `/containers/${c.name}/wait`);
    const r = await Promise.race([
      socketRequestRaw(
        w.dockerSocket,
        `/v1.43/containers/${c.name}/attach?logs=1&stream=0&stdout=1&stderr=1`,
      ),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('attach never answered')), 5000)),
    ]);
    expect(r.status).toBe(200);
    const frames = new FrameReader().push(r.body);
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([['stdout', 'hello attach\n']]);
    // stream=0 without logs: nothing, and it ends.
    const empty = await socketRequestRaw(
      w.dockerSocket,
      `/v1.43/containers/${c.name}/attach?stream=0&stdout=1`,
    );
    expect([empty.status, empty.body.length]).toEqual([200, 0]);
  });

  it('kill answers after the exit is recorded: inspect says not running, exit 137', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await create(['sleep', '300']);
      expect((await docker('POST', `/containers/${c.name}/start`)).status).toBe(204);
      expect((await docker('POST', `/containers/${c.name}/kill`)).status).toBe(204);
      const state = JSON.parse((await docker('GET', `/containers/${c.name}/json`)).body).State;
      expect([state.Status, state.Running, state.ExitCode]).toEqual(['exited', false, 137]);
    }
    const c = await create(['sleep', '300']);
    const notRunning = await docker('POST', `/containers/${c.name}/kill`);
    expect(notRunning.status).toBe(409);
    expect(JSON.parse(notRunning.body).message).toBe(
      `container ${c.name} is created: cannot kill (state created)`,
    );
  });

  it('a non-SIGKILL signal is delivered to PID 1 (pidfd) and answered without waiting', async () => {
    const c = await create(['stubborn']);
    expect((await docker('POST', `/containers/${c.name}/start`)).status).toBe(204);
    const pid = w.live.get(c.id)!.process.pid;
    expect((await docker('POST', `/containers/${c.name}/kill?signal=SIGTERM`)).status).toBe(204);
    expect(w.sys.signals()).toContainEqual([pid, 'SIGTERM']);
    expect(JSON.parse((await docker('GET', `/containers/${c.name}/json`)).body).State.Running).toBe(true);
    // stop: SIGTERM ignored, SIGKILL to the cgroup after the grace period.
    const t0 = Date.now();
    expect((await docker('POST', `/containers/${c.name}/stop?t=1`)).status).toBe(204);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(JSON.parse((await docker('GET', `/containers/${c.name}/json`)).body).State.ExitCode).toBe(137);
    expect((await docker('POST', `/containers/${c.name}/stop`)).status).toBe(304);
  });

  it('two starts at once: 204 and 304, never 5xx; exec on an exited container: 409', async () => {
    const c = await create(['sleep', '300']);
    const rs = await Promise.all([1, 2].map(() => docker('POST', `/containers/${c.name}/start`)));
    expect(rs.map((r) => r.status).sort()).toEqual([204, 304]);
    expect((await docker('POST', `/containers/${c.name}/kill`)).status).toBe(204);
    const ex = await docker('POST', `/containers/${c.name}/exec`, { Cmd: ['echo', 'x'] });
    expect(ex.status).toBe(409);
  });

  it('list filters run in SQL: label (all must hold), name (regex or text), id prefix, status, limit', async () => {
    const a = await create(['sleep', '300'], { tier: 'web', env: 'prod' });
    const b = await create(['sleep', '300'], { tier: 'web', env: 'dev' });
    const ids = async (q: Record<string, unknown>, extra = '') => {
      const r = await docker(
        'GET',
        `/containers/json?all=1${extra}&filters=${encodeURIComponent(JSON.stringify(q))}`,
      );
      expect(r.status).toBe(200);
      return (JSON.parse(r.body) as Array<{ Id: string }>).map((c) => c.Id);
    };
    expect((await ids({ label: ['tier=web'] })).sort()).toEqual([a.id, b.id].sort());
    expect(await ids({ label: ['tier=web', 'env=prod'] })).toEqual([a.id]);
    expect(await ids({ label: { 'env=dev': true } })).toEqual([b.id]);
    expect(await ids({ name: [`^/${a.name}$`] })).toEqual([a.id]);
    expect(await ids({ name: ['(a+)+$'] })).toEqual([]);
    expect(await ids({ id: [b.id.slice(0, 10)] })).toEqual([b.id]);
    expect(await ids({ status: ['created'], label: ['tier'] }, '')).toHaveLength(2);
    expect(await ids({ status: ['running'], label: ['tier'] })).toEqual([]);
    expect(await ids({ label: ['tier'] }, '&limit=1')).toEqual([b.id]);
    const bad = await docker(
      'GET',
      `/containers/json?filters=${encodeURIComponent('{"status":["sleepy"]}')}`,
    );
    expect(bad.status).toBe(400);
  });
});

/** The body as bytes (attach's frames are binary). */
function socketRequestRaw(socketPath: string, p: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path: p, headers: { host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
