import * as fs from 'node:fs';
import * as path from 'node:path';
import { importBusybox } from '../utils/containers';
import {
  DOCKER_BIN,
  DockerCli,
  startDockerWarden,
  dockerFails,
  dockerOk,
  hasDockerCli,
  socketRequest,
} from '../utils/docker-cli';
import { api, TestWarden } from '../utils/warden';

const isRoot = process.getuid?.() === 0;
const ready = isRoot && hasDockerCli();
const suite = ready || process.env.CI ? describe : describe.skip;
if (!ready)
  console.warn(`docker verbs e2e ${process.env.CI ? 'will fail' : 'skipped'}: needs root and ${DOCKER_BIN}`);

suite('container verbs through the real docker CLI: pause, rename, prune, inspect as given', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let socket: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, socket, close } = await startDockerWarden(`volumes-verbs-${process.pid}`));
    await importBusybox(w, 'busybox:latest');
  });
  afterAll(() => close?.());

  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];

  it('pause freezes every process, unpause thaws them; stop and rm -f work on a paused container', async () => {
    const log = '/tmp/ticks';
    await ok([
      'run',
      '-d',
      '--name',
      'ticker',
      'busybox:1.35',
      'sh',
      '-c',
      `while true; do date +%s%N >> ${log}; sleep 0.05; done`,
    ]);
    await new Promise((r) => setTimeout(r, 400));
    await ok(['pause', 'ticker']);
    const c = await inspect('ticker');
    expect(c.State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
    expect(await ok(['ps', '--filter', 'status=paused', '--format', '{{.Names}} {{.Status}}'])).toMatch(
      /^ticker Up .*\(Paused\)$/m,
    );
    // Frozen: the log does not grow while paused.
    const upper = path.join(w.dataDir, 'containers', c.Id, 'layer', 'upper', 'tmp', 'ticks');
    const before = fs.readFileSync(upper, 'utf8');
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.readFileSync(upper, 'utf8')).toBe(before);
    expect(await fails(['pause', 'ticker'])).toMatch(/already paused/);
    expect(await fails(['exec', 'ticker', 'true'])).toMatch(/is paused/);
    await ok(['unpause', 'ticker']);
    expect(await fails(['unpause', 'ticker'])).toMatch(/is not paused/);
    await new Promise((r) => setTimeout(r, 400));
    expect(fs.readFileSync(upper, 'utf8').length).toBeGreaterThan(before.length);
    expect((await inspect('ticker')).State).toMatchObject({ Status: 'running', Paused: false });

    await ok(['pause', 'ticker']);
    await ok(['stop', '-t', '1', 'ticker']);
    expect((await inspect('ticker')).State.Status).toBe('exited');
    await ok(['start', 'ticker']);
    await ok(['pause', 'ticker']);
    expect(await fails(['rm', 'ticker'])).toMatch(/paused/);
    await ok(['rm', '-f', 'ticker']);
    expect(await fails(['inspect', 'ticker'])).toMatch(/No such object/);

    const events = (await api(w, 'GET', '/audit/events?limit=500')).body.events as Array<{ type: string }>;
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'container.paused')).toHaveLength(3);
    expect(types.filter((t) => t === 'container.unpaused')).toHaveLength(1);
  });

  it('update changes the limits of a running container: its cgroup and its inspect', async () => {
    await ok(['run', '-d', '--name', 'upd', '--memory', '64m', 'busybox:1.35', 'sleep', '60']);
    await ok(['update', '--memory', '96m', '--memory-swap', '96m', '--pids-limit', '77', 'upd']);
    const c = await inspect('upd');
    expect(c.HostConfig).toMatchObject({ Memory: 96 * 1024 ** 2, PidsLimit: 77 });
    const stats = JSON.parse((await socketRequest(socket, 'GET', '/containers/upd/stats?stream=0')).body);
    expect(stats.memory_stats.limit).toBe(96 * 1024 ** 2);
    expect(stats.pids_stats.limit).toBe(77);
    expect(await fails(['update', '--restart', 'always', 'upd'])).toMatch(/restart policy 'always'/);
    const events = (await api(w, 'GET', '/audit/events?type=container.updated')).body.events;
    expect(events[0].payload.after).toMatchObject({ memoryBytes: 96 * 1024 ** 2, pidsLimit: 77 });
    await ok(['rm', '-f', 'upd']);
  });

  it('rename keeps the container; a taken name is 409', async () => {
    await ok(['create', '--name', 'old', 'busybox:1.35', 'true']);
    await ok(['create', '--name', 'other', 'busybox:1.35', 'true']);
    const id = (await inspect('old')).Id;
    await ok(['rename', 'old', 'new']);
    expect((await inspect('new')).Id).toBe(id);
    expect(await fails(['inspect', 'old'])).toMatch(/No such object: old/);
    expect(await fails(['rename', 'new', 'other'])).toMatch(/already in use/);
    await ok(['rm', 'new', 'other']);
  });

  it('inspect shows the image as the client named it, and HostConfig as it was set', async () => {
    await ok(['create', '--name', 'asgiven', '--memory', '64m', '--pids-limit', '50', 'busybox', 'true']);
    const c = await inspect('asgiven');
    expect(c.Config.Image).toBe('busybox');
    expect(c.HostConfig).toMatchObject({ Memory: 64 * 1024 ** 2, PidsLimit: 50 });
    expect(await ok(['ps', '-a', '--filter', 'name=asgiven', '--format', '{{.Image}}'])).toBe('busybox\n');
    await ok(['rm', 'asgiven']);
  });

  it('container prune removes stopped containers by label and age, never running ones', async () => {
    await ok(['create', '--name', 'p1', '--label', 'tier=tmp', 'busybox:1.35', 'true']);
    await ok(['create', '--name', 'p2', 'busybox:1.35', 'true']);
    await ok(['run', '-d', '--name', 'p3', '--label', 'tier=tmp', 'busybox:1.35', 'sleep', '60']);
    const p1 = (await inspect('p1')).Id;
    expect(await ok(['container', 'prune', '-f', '--filter', 'until=1h'])).not.toContain(p1);
    const out = await ok(['container', 'prune', '-f', '--filter', 'label=tier=tmp']);
    expect(out).toContain(p1);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toMatch(/p2/);
    expect(await ok(['ps', '--format', '{{.Names}}'])).toMatch(/p3/);
    await ok(['container', 'prune', '-f']);
    expect((await ok(['ps', '-a', '--format', '{{.Names}}'])).trim()).toBe('p3');
    await ok(['rm', '-f', 'p3']);
  });

  // Last: it binds a stricter policy to the socket's principal for the rest of the file.
  it('a policy cap judges update like a launch, and caps and defaults volume sizes', async () => {
    await ok(['run', '-d', '--name', 'capped', '--memory', '64m', 'busybox:1.35', 'sleep', '60']);
    const doc = {
      name: 'caps',
      mode: 'enforce',
      rules: {
        resources: { memory: { max: '128m' } },
        volumes: {
          allowedDrivers: ['local'],
          allowedOptions: ['size'],
          size: { max: '32m', default: '16m' },
        },
      },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    await api(w, 'POST', '/policies/caps/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/caps/bindings', { body: { kind: 'principal', value: 'docker-root' } });
    expect(await fails(['update', '--memory', '256m', '--memory-swap', '256m', 'capped'])).toMatch(
      /memory 256m exceeds .*rule resources\.memory\.max/,
    );
    expect((await inspect('capped')).HostConfig.Memory).toBe(64 * 1024 ** 2);
    await ok(['update', '--memory', '100m', '--memory-swap', '100m', 'capped']);
    expect((await inspect('capped')).HostConfig.Memory).toBe(100 * 1024 ** 2);

    expect(await fails(['volume', 'create', '--opt', 'size=64m', 'big'])).toMatch(/rule volumes\.size\.max/);
    await ok(['volume', 'create', 'defaulted']);
    try {
      // The policy's default size made it a 16m filesystem of its own.
      const df = await ok([
        'run',
        '--rm',
        '--memory',
        '64m',
        '-v',
        'defaulted:/d',
        'busybox:1.35',
        'df',
        '-k',
        '/d',
      ]);
      const kb = Number(df.trim().split('\n')[1].split(/\s+/)[1]);
      expect(kb).toBeGreaterThan(12 * 1024);
      expect(kb).toBeLessThanOrEqual(16 * 1024);
    } finally {
      await ok(['volume', 'rm', 'defaulted']);
    }
    await ok(['rm', '-f', 'capped']);
  });
});
