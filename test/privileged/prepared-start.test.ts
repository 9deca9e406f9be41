import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeModule } from '../../src/runtime/runtime.module';
import { ContainerRepository } from '../../src/runtime/container/container.repository';
import { cgroupDirsFor, cgroupPids, importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';
import { processAlive } from '../utils/processes';

const comm = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

/**
 * A create prepares its start (ContainerLauncher): the container's process is set up in its
 * cgroup and namespaces, waiting before execve, until the start lets it go. As root, real kernel.
 */
describe('prepared starts', () => {
  let w: TestWarden;
  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-test-prep-${process.pid}` });
    await importBusybox(w);
  });
  afterAll(() => w.close());

  const create = async (body: Record<string, unknown>) => {
    const r = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', ...body } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  it('waits in its cgroup before execve, runs nothing of the command until started, then runs it', async () => {
    const id = await create({ cmd: ['sh', '-c', 'touch /ran; echo started'] });
    const waiting = await eventually('prepared process in the cgroup', async () => cgroupPids(id)[0]);
    expect(comm(waiting)).toBe('warden-shim'); // not yet the command
    const upper = path.join(w.dataDir, 'containers', id, 'layer', 'upper');
    expect(fs.existsSync(path.join(upper, 'ran'))).toBe(false);
    expect((await api(w, 'GET', `/containers/${id}`)).body).toMatchObject({ state: 'created' });

    // The wait and the start take the container from its prepared start: no read of its row.
    const reads = jest.spyOn(
      w.app.select(RuntimeModule).get(ContainerRepository, { strict: true }),
      'findByRef',
    );
    const waited = api(w, 'POST', `/containers/${id}/wait?condition=next-exit`);
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
    expect((await waited).body).toEqual({ statusCode: 0, oomKilled: false });
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    expect(fs.existsSync(path.join(upper, 'ran'))).toBe(true);
    const logs = await api(w, 'GET', `/containers/${id}/logs`);
    expect(logs.body).toMatchObject({ stream: 'stdout', log: 'started\n' });
    expect(processAlive(waiting)).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
    await api(w, 'DELETE', `/containers/${id}`);
  });

  it('removing a created container kills its prepared process and removes its cgroup', async () => {
    const id = await create({ cmd: ['/bin/true'] });
    const waiting = await eventually('prepared process in the cgroup', async () => cgroupPids(id)[0]);
    expect((await api(w, 'DELETE', `/containers/${id}`)).status).toBe(204);
    expect(processAlive(waiting)).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
    expect(fs.existsSync(path.join(w.dataDir, 'containers', id))).toBe(false);
  });

  it('restarting after an exit launches from scratch, with the same isolation', async () => {
    const r = await runContainer(w, { cmd: ['sh', '-c', 'echo $(hostname) $$'] });
    const expected = `${r.id.slice(0, 12)} 1\n`;
    expect(r).toMatchObject({ exitCode: 0, stdout: expected });
    const waited = api(w, 'POST', `/containers/${r.id}/wait?condition=next-exit`);
    expect((await api(w, 'POST', `/containers/${r.id}/start`)).status).toBe(200);
    expect((await waited).body.statusCode).toBe(0);
    const logs = await api(w, 'GET', `/containers/${r.id}/logs`);
    expect(
      logs.body
        .split('\n')
        .filter(Boolean)
        .map((l: string) => JSON.parse(l).log),
    ).toEqual([expected, expected]);
    expect(cgroupDirsFor(r.id)).toEqual([]);
    await api(w, 'DELETE', `/containers/${r.id}`);
  });

  it('a command that cannot run fails at start with 127, as without preparation, leaving nothing', async () => {
    const id = await create({ cmd: ['no-such-command'] });
    const started = await api(w, 'POST', `/containers/${id}/start`);
    expect(started.status).toBe(400);
    expect(started.body.message).toMatch(/exec no-such-command: ENOENT/);
    expect((await api(w, 'GET', `/containers/${id}`)).body).toMatchObject({ state: 'exited', exitCode: 127 });
    expect(cgroupDirsFor(id)).toEqual([]);
    await api(w, 'DELETE', `/containers/${id}`);
  });
});

describe('prepared starts: expiry and opting out', () => {
  let w: TestWarden;
  afterEach(() => w?.close());

  it('an unused preparation expires (WARDEN_PREPARED_START_TTL); the start then does every step', async () => {
    w = await startTestWarden('up', {
      WARDEN_CGROUP_PARENT: `warden-test-prep-ttl-${process.pid}`,
      WARDEN_PREPARED_START_TTL: '0.3',
    });
    await importBusybox(w);
    const created = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['/bin/true'] },
    });
    const id = created.body.id as string;
    const waiting = await eventually('prepared process in the cgroup', async () => cgroupPids(id)[0]);
    await eventually('preparation expired', async () => !processAlive(waiting) && !cgroupDirsFor(id).length);
    const waited = api(w, 'POST', `/containers/${id}/wait?condition=next-exit`);
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
    expect((await waited).body.statusCode).toBe(0);
  });

  it('WARDEN_PREPARED_START_TTL=0 prepares nothing: no process or cgroup before the start', async () => {
    w = await startTestWarden('up', {
      WARDEN_CGROUP_PARENT: `warden-test-prep-off-${process.pid}`,
      WARDEN_PREPARED_START_TTL: '0',
    });
    await importBusybox(w);
    const r = await runContainer(w, { cmd: ['/bin/true'] });
    expect(r.exitCode).toBe(0);
    const created = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['/bin/true'] },
    });
    await new Promise((res) => setTimeout(res, 200));
    expect(cgroupDirsFor(created.body.id)).toEqual([]);
  });
});
