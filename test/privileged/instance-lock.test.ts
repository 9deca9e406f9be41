import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { freePort } from '../../src/platform/process/child-process';
import { InstanceLockedError } from '../../src/runtime';
import { createCgroupDriver } from '../../src/runtime/cgroups';
import { assertBuilt, startCli, waitHealthy } from '../utils/cli';
import { cgroupPids, importBusybox } from '../utils/containers';
import { freshDatabase, freshRedis } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';
import { processAlive } from '../utils/processes';

/**
 * One Warden per runtime scope (issue 13, point 5): a second Warden on the same cgroup parent
 * killed every running container of the first at its start. Now it refuses, naming the first,
 * and the first's containers run on; a kill -9'd holder does not block the next start.
 */
describe('one Warden per cgroup parent and data dir', () => {
  const parent = `warden-lock-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-lock-'));
  let first: TestWarden;
  let containerId: string;
  let containerPid: number;
  const services: Array<{ url: string; stop?(): Promise<void>; drop?(): Promise<void> }> = [];

  const fresh = async () => {
    const [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
    services.push(db, redis);
    return { DATABASE_URL: db.url, REDIS_URL: redis.url };
  };
  const configFor = async (env: Record<string, string>) =>
    loadConfig({
      WARDEN_PORT: '0',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_LOG_LEVEL: 'silent',
      ...(await fresh()),
      ...env,
    });
  const stillRunning = async () => {
    expect(processAlive(containerPid)).toBe(true);
    expect(cgroupPids(containerId)).toContain(containerPid);
    expect((await api(first, 'GET', `/containers/${containerId}`)).body.state).toBe('running');
  };

  beforeAll(async () => {
    assertBuilt();
    first = await startTestWarden('up', { WARDEN_CGROUP_PARENT: parent });
    await importBusybox(first);
    const c = await api(first, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'keeps-running', cmd: ['sleep', '300'] },
    });
    containerId = c.body.id;
    const started = await api(first, 'POST', `/containers/${containerId}/start`);
    expect(started.status).toBe(200);
    containerPid = started.body.pid;
    await stillRunning();
  });

  afterAll(async () => {
    await first?.close();
    for (const s of services) await (s.stop ?? s.drop)!.call(s);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a second Warden process on the same cgroup parent refuses, naming the first, and kills nothing', async () => {
    const second = startCli(['serve'], {
      WARDEN_DATA_DIR: path.join(tmp, 'second'),
      WARDEN_PORT: String(await freePort()),
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_CGROUP_PARENT: parent,
      ...(await fresh()),
    });
    expect(await second.exit).toBe(1);
    const out = second.output();
    expect(out).toContain('cgroup parent');
    expect(out).toContain(`pid ${process.pid} (warden up)`);
    expect(out).toContain(`data dir ${first.dataDir}`);
    expect(out).toContain(first.url);
    expect(out).toContain(`socket ${path.join(first.dataDir, 'docker.sock')}`);
    expect(out).toMatch(/started \d{4}-\d\d-\d\dT[\d:.]+Z/);
    expect(out).toContain('another WARDEN_CGROUP_PARENT');
    await stillRunning();
  });

  it('a second Warden on the same data dir refuses, whatever its cgroup parent', async () => {
    const config = await configFor({
      WARDEN_DATA_DIR: first.dataDir,
      WARDEN_CGROUP_PARENT: `${parent}-other`,
      WARDEN_DOCKER_SOCKET: path.join(tmp, 'other.sock'),
    });
    const err = await startWarden('serve', config, pino({ level: 'silent' })).then(
      async (w) => {
        await w.stop();
        throw new Error('the second Warden started');
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(InstanceLockedError);
    expect((err as InstanceLockedError).scope).toBe('data dir');
    expect(err.message).toContain(
      `data dir ${first.dataDir} is held by another running Warden: pid ${process.pid}`,
    );
    await stillRunning();
  });

  it('Wardens on different cgroup parents run side by side', async () => {
    const other = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `${parent}-b` });
    try {
      await importBusybox(other);
      const c = await api(other, 'POST', '/containers', {
        body: { image: 'busybox:1.35', cmd: ['sleep', '300'] },
      });
      const started = await api(other, 'POST', `/containers/${c.body.id}/start`);
      expect(started.status).toBe(200);
      expect(cgroupPids(c.body.id)).toContain(started.body.pid);
      expect((await api(first, 'GET', '/health')).status).toBe(200);
      expect((await api(other, 'GET', '/health')).status).toBe(200);
      await stillRunning();
    } finally {
      await other.close();
    }
    await stillRunning();
  });

  it('after a kill -9 of the holder, the next Warden on its parent and data dir starts', async () => {
    const q = `${parent}-k`;
    const dataDir = path.join(tmp, 'killed');
    const port = await freePort();
    const urls = await fresh();
    const held = startCli(['serve'], {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_PORT: String(port),
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_CGROUP_PARENT: q,
      ...urls,
    });
    await waitHealthy(`http://127.0.0.1:${port}`, held);
    // While it lives, it holds the parent (and names itself).
    const refused = await startWarden(
      'serve',
      await configFor({ WARDEN_DATA_DIR: path.join(tmp, 'contender'), WARDEN_CGROUP_PARENT: q }),
      pino({ level: 'silent' }),
    ).then(
      async (w) => {
        await w.stop();
        throw new Error('started beside a live holder');
      },
      (e: Error) => e,
    );
    expect(refused.message).toContain(`pid ${held.child.pid} (warden serve)`);
    expect(refused.message).toContain(`http://127.0.0.1:${port}`);

    held.child.kill('SIGKILL');
    await held.exit;
    expect(fs.readdirSync(path.join(dataDir, 'run'))).toContain('instance.lock'); // left behind
    const next = await startWarden(
      'serve',
      loadConfig({
        WARDEN_DATA_DIR: dataDir,
        WARDEN_PORT: '0',
        WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
        WARDEN_LOG_LEVEL: 'silent',
        WARDEN_CGROUP_PARENT: q,
        ...urls,
      }),
      pino({ level: 'silent' }),
    );
    try {
      expect((await api({ url: next.url! }, 'GET', '/health')).status).toBe(200);
    } finally {
      await next.stop();
    }
    await stillRunning();
  });

  it('a starting Warden leaves alone a cgroup under its parent that is not its own', async () => {
    const q = `${parent}-f`;
    const cgroups = await createCgroupDriver({ parentName: q });
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const gone = new Promise((r) => sleeper.once('exit', r));
    const cg = await cgroups.create('foreign-workload');
    try {
      await cg.addProcess(sleeper.pid!);
      const w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: q });
      try {
        expect(await cgroups.list()).toContain('foreign-workload');
        expect(await cg.pids()).toEqual([sleeper.pid]);
      } finally {
        await w.close();
      }
    } finally {
      await cg.destroy();
      await cgroups.removeParent();
    }
    await gone; // destroy() killed it: nothing of it is left
  });
});
