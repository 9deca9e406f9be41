import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { consoleNodesPage } from '../utils/fleet-console';
import { fleetNode, fleetServices, startNode, stopFleet, type FleetNode } from '../utils/fleet-nodes';
import { api, socketAsAdmin } from '../utils/warden';
import { DockerCli } from '../utils/docker-cli';
import { Queue, QueueEvents } from 'bullmq';
import { Client } from 'pg';
import { ioredisOptions, QUEUE_PREFIX } from '../../src/platform/queue';

/**
 * A fleet on one machine (issue 18, point 4): three Warden nodes, each its own process, data
 * dir, port, docker socket and cgroup parent, on one PostgreSQL database and one Redis that
 * this test starts. A policy change made on A is enforced by B within a second; `kill -9` of
 * B leaves its containers running but unvouched for — `unknown` in every view — until B comes
 * back and reconciles them; the audit chain verifies throughout.
 */

const HEARTBEAT_TIMEOUT_S = 2;

describe('a fleet of three nodes on one PostgreSQL and one Redis', () => {
  let services: Awaited<ReturnType<typeof fleetServices>>;
  const nodes: Record<'a' | 'b' | 'c', FleetNode> = {} as never;

  const verifyChain = async (n: FleetNode) => {
    const v = await api(n, 'GET', '/audit/verify');
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ ok: true });
    return v.body as { ok: boolean; rows: number };
  };

  beforeAll(async () => {
    services = await fleetServices();
    const { db, redis } = services;
    const shared = { databaseUrl: db.url, redisUrl: redis.url, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S };
    for (const k of ['a', 'b', 'c'] as const) nodes[k] = await fleetNode(`node-${k}`, shared);
    // A first: it applies the migrations; B and C then start side by side.
    await startNode(nodes.a);
    await Promise.all([startNode(nodes.b), startNode(nodes.c)]);
  }, 180_000);

  afterAll(async () => {
    await stopFleet(Object.values(nodes), services);
  }, 120_000);

  it('every node registers and heartbeats: GET /nodes on any node lists all three, up, with capacity', async () => {
    const list = await api(nodes.c, 'GET', '/nodes');
    expect(list.status).toBe(200);
    expect(list.body.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    for (const n of list.body) {
      expect(n).toMatchObject({
        status: 'up',
        version: expect.any(String),
        capacity: { cpus: os.cpus().length, memoryBytes: os.totalmem() },
        containers: { running: 0, unknown: 0, total: 0 },
        address: nodes[n.name.slice(-1) as 'a'].url,
      });
    }
    expect(list.body.find((n: { self: boolean }) => n.self).name).toBe('node-c');
    const one = await api(nodes.a, 'GET', '/nodes/node-b');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'node-b', status: 'up', containerList: [] });
    expect((await api(nodes.a, 'GET', '/nodes/node-z')).status).toBe(404);
    expect((await api(nodes.a, 'GET', '/nodes/bad name!')).status).toBe(400);
  });

  it('a policy change on A is enforced on B within a second (the cache had no expiry: before, never)', async () => {
    // B decides once (its policy cache is filled): allowed; the image is not there, so nothing runs.
    const probe = () =>
      api(nodes.b, 'POST', '/containers', { body: { image: 'fleet-absent:1', cmd: ['true'] } });
    const before = await probe();
    expect(before.status).not.toBe(403);
    const baseline = (await api(nodes.a, 'GET', '/policies/baseline')).body;
    const created = await api(nodes.a, 'POST', '/policies', {
      body: {
        name: 'baseline',
        mode: 'enforce',
        rules: { ...baseline.document.rules, labels: { required: ['owner'] } },
      },
    });
    expect(created.status).toBe(201);
    const activated = await api(nodes.a, 'POST', '/policies/baseline/activate', {
      body: { versionId: created.body.id },
    });
    expect(activated.status).toBe(200);
    const changedAt = Date.now();
    let after: Awaited<ReturnType<typeof probe>>;
    for (;;) {
      after = await probe();
      if (after.status === 403 || Date.now() - changedAt > 5000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const tookMs = Date.now() - changedAt;
    console.log(`policy change on A enforced on B after ${tookMs} ms`);
    expect(after.status).toBe(403);
    expect(after.body.message).toMatch(/label owner is required \(policy baseline, rule labels\.required\)/);
    expect(tookMs).toBeLessThan(1000);
    // C too, and A itself.
    expect((await api(nodes.c, 'POST', '/containers', { body: { image: 'fleet-absent:1' } })).status).toBe(
      403,
    );
    expect((await api(nodes.a, 'POST', '/containers', { body: { image: 'fleet-absent:1' } })).status).toBe(
      403,
    );
  });

  it('an upstream added on A is served by B within a second (before: its 5 s re-read)', async () => {
    const pull = () => api(nodes.b, 'GET', '/v2/fleethub/library/busybox/manifests/1.35');
    const before = await pull();
    expect(JSON.stringify(before.body)).toMatch(/there is no upstream 'fleethub'/);
    // Nothing listens on port 9: once B knows the alias, the same request reaches for it and fails there.
    const added = await api(nodes.a, 'POST', '/registry/upstreams', {
      body: { alias: 'fleethub', url: 'https://127.0.0.1:9' },
    });
    expect(added.status).toBe(201);
    const changedAt = Date.now();
    let after = before;
    while (
      /there is no upstream 'fleethub'/.test(JSON.stringify(after.body)) &&
      Date.now() - changedAt < 8000
    ) {
      await new Promise((r) => setTimeout(r, 20));
      after = await pull();
    }
    const tookMs = Date.now() - changedAt;
    console.log(`upstream added on A served by B after ${tookMs} ms`);
    expect(JSON.stringify(after.body)).not.toMatch(/there is no upstream/);
    expect(tookMs).toBeLessThan(1000);
  });

  it("a launch judged on A runs on C: dispatched through C's queue, once, its result back to the caller", async () => {
    await importBusybox(nodes.c);
    const made = await api(nodes.a, 'POST', '/containers', {
      body: {
        image: 'busybox:1.35',
        name: 'sent-to-c',
        node: 'node-c',
        labels: { owner: 'fleet' },
        cmd: ['sh', '-c', 'echo hello from $(cat /etc/hostname); while :; do sleep 0.2; done'],
      },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name: 'sent-to-c', node: 'node-c', state: 'created' });
    const id = made.body.id as string;
    // Started through A as well: the verb goes to the node that runs it.
    const started = await api(nodes.a, 'POST', `/containers/${id}/start`);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', node: 'node-c' });
    expect((await api(nodes.c, 'GET', `/containers/${id}`)).body).toMatchObject({ state: 'running' });
    expect(fs.existsSync(path.join(nodes.c.dataDir, 'containers', id))).toBe(true);
    expect(fs.existsSync(path.join(nodes.a.dataDir, 'containers', id))).toBe(false);

    // Judged once: one decision on the record, by A's request, and the launch row says where it went.
    const pg = new Client({ connectionString: services.db.url });
    await pg.connect();
    try {
      const { rows } = await pg.query(
        `SELECT id, dispatch_node, dispatch_state, container_id FROM launch_requests WHERE container_id = $1`,
        [id],
      );
      expect(rows).toEqual([
        { id: expect.any(String), dispatch_node: 'node-c', dispatch_state: 'done', container_id: id },
      ]);
      const launchId = rows[0].id as string;
      await eventually('the decision in the trail', async () => {
        const e = (await api(nodes.a, 'GET', `/audit/events?type=policy.decision&subject=${launchId}`)).body;
        return e.events.length === 1;
      });

      // Delivered again (as after a crash mid-dispatch): the claim holds, the answer is the same
      // container, and nothing new is created.
      const bull = { connection: ioredisOptions(services.redis.endpoint), prefix: QUEUE_PREFIX };
      const queue = new Queue('launch-node-c', bull);
      const events = new QueueEvents('launch-node-c', bull);
      try {
        await events.waitUntilReady();
        const { rows: full } = await pg.query(`SELECT request FROM launch_requests WHERE id = $1`, [
          launchId,
        ]);
        const decided = await api(nodes.a, 'GET', `/audit/events?type=policy.decision&subject=${launchId}`);
        const again = await queue.add('create', {
          kind: 'create',
          caller: { principal: { id: 'admin', role: 'admin', teams: [] }, source: { via: 'http' } },
          req: { launch: full[0].request, name: 'sent-to-c-again' },
          judged: {
            decision: decided.body.events[0].payload.decision,
            effectiveSpec: decided.body.events[0].payload.spec,
            launchRequestId: launchId,
          },
        });
        const result = await again.waitUntilFinished(events, 30_000);
        expect(result).toMatchObject({ ok: true, container: { id, name: 'sent-to-c' } });
      } finally {
        await queue.close();
        await events.close();
      }
      const onC = (await api(nodes.c, 'GET', '/containers?all=true')).body as Array<{ name: string }>;
      expect(onC.map((c) => c.name)).toEqual(['sent-to-c']);
    } finally {
      await pg.end();
    }

    // The docker CLI through A's socket: the node is a label.
    await socketAsAdmin(nodes.a);
    const docker = new DockerCli(path.join(nodes.a.dataDir, 'docker.sock'));
    const run = await docker.run([
      'run',
      '-d',
      '--name',
      'cli-to-c',
      '--label',
      'warden.node=node-c',
      '--label',
      'owner=fleet',
      'busybox:1.35',
      'sleep',
      '60',
    ]);
    expect(run).toMatchObject({ code: 0 });
    const cliId = run.stdout.trim();
    expect((await api(nodes.c, 'GET', `/containers/${cliId}`)).body).toMatchObject({
      state: 'running',
      node: 'node-c',
    });
    const rm = await docker.run(['rm', '-f', 'cli-to-c']);
    expect(rm).toMatchObject({ code: 0 });
    expect((await api(nodes.c, 'GET', `/containers/${cliId}`)).status).toBe(404);

    // Removed through A too; a node that is not registered or up is refused before any decision.
    expect((await api(nodes.a, 'DELETE', `/containers/${id}?force=true`)).status).toBe(204);
    expect((await api(nodes.c, 'GET', `/containers/${id}`)).status).toBe(404);
    const nowhere = await api(nodes.a, 'POST', '/containers', {
      body: { image: 'busybox:1.35', node: 'node-z', labels: { owner: 'fleet' } },
    });
    expect(nowhere.status).toBe(409);
    expect(nowhere.body.message).toMatch(/node node-z is not up/);
    expect(
      (await api(nodes.a, 'POST', '/containers', { body: { image: 'busybox:1.35', node: 'bad name' } }))
        .status,
    ).toBe(400);
  }, 120_000);

  it("the docker CLI on A acts on C's containers: logs, exec, attach, wait, stats, top, pause, rename, update, commit", async () => {
    await socketAsAdmin(nodes.a);
    const docker = new DockerCli(path.join(nodes.a.dataDir, 'docker.sock'));
    const onC = ['--label', 'warden.node=node-c', '--label', 'owner=fleet'];
    const ok = async (args: string[], input?: string) => {
      const r = await docker.run(args, { input });
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.code} ${r.stderr}`);
      return r.stdout;
    };
    const cleanup = () =>
      Promise.all(['remote', 'remote-2', 'counts'].map((n) => docker.run(['rm', '-f', n])));
    try {
      const id = (
        await ok([
          'run',
          '-d',
          '--name',
          'remote',
          ...onC,
          'busybox:1.35',
          'sh',
          '-c',
          'echo started; while :; do sleep 0.2; done',
        ])
      ).trim();
      expect((await api(nodes.c, 'GET', `/containers/${id}`)).body).toMatchObject({
        state: 'running',
        node: 'node-c',
      });
      await eventually('its log through A', async () => (await ok(['logs', 'remote'])) === 'started\n');
      // exec, with stdin, and its exit code
      expect(await ok(['exec', 'remote', 'cat', '/etc/hostname'])).toBe(`${id.slice(0, 12)}\n`);
      expect(await ok(['exec', '-i', 'remote', 'sh', '-c', 'read x; echo got-$x'], 'typed\n')).toBe(
        'got-typed\n',
      );
      expect((await docker.run(['exec', 'remote', 'sh', '-c', 'exit 4'])).code).toBe(4);
      expect(await ok(['top', 'remote'])).toMatch(/sleep|while/);
      expect(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'remote'])).toMatch(
        /^remote \d/,
      );
      await ok(['pause', 'remote']);
      expect((await api(nodes.c, 'GET', `/containers/${id}`)).body.state).toBe('paused');
      await ok(['unpause', 'remote']);
      await ok(['rename', 'remote', 'remote-2']);
      await ok(['update', '--memory', '64m', 'remote-2']);
      expect((await api(nodes.c, 'GET', `/containers/${id}`)).body).toMatchObject({
        name: 'remote-2',
        state: 'running',
      });
      expect(await ok(['commit', 'remote-2', 'fleet-committed:1'])).toMatch(/^sha256:/);
      // `docker wait` through A sees the exit C records
      const waiting = docker.run(['wait', 'remote-2']);
      await ok(['kill', 'remote-2']); // SIGKILL: a shell as PID 1 ignores TERM
      expect((await waiting).stdout).toBe('137\n');
      await ok(['rm', 'remote-2']);
      // docker run in the foreground: attach before start, stdout and stderr apart, the exit code
      const fg = await docker.run([
        'run',
        '--rm',
        ...onC,
        'busybox:1.35',
        'sh',
        '-c',
        'echo out; echo err >&2; exit 3',
      ]);
      expect(fg).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
      const interactive = await docker.run(
        ['run', '-i', '--rm', ...onC, 'busybox:1.35', 'sh', '-c', 'read x; echo got-$x'],
        {
          input: 'typed\n',
        },
      );
      expect(interactive).toMatchObject({ code: 0, stdout: 'got-typed\n' });
      // logs -f of a run that ends: everything, then the stream ends
      await ok([
        'run',
        '-d',
        '--name',
        'counts',
        ...onC,
        'busybox:1.35',
        'sh',
        '-c',
        'for i in 1 2 3; do echo $i; sleep 0.2; done',
      ]);
      expect(await ok(['logs', '-f', 'counts'])).toBe('1\n2\n3\n');
      await ok(['rm', 'counts']);
      // Nothing of it was ever on A: every verb ran on C.
      expect(fs.existsSync(path.join(nodes.a.dataDir, 'containers', id))).toBe(false);
    } finally {
      await cleanup();
    }
  }, 120_000);

  it('node C killed with a launch on its way: the caller is answered once C is seen down (504, the launch id and the container it will be), and the launch runs once when C is back', async () => {
    process.kill(nodes.c.proc!.child.pid!, 'SIGKILL');
    expect(await nodes.c.proc!.exit).toBe('SIGKILL');
    // Within C's heartbeat window A still counts it up: the launch is judged and queued for C.
    const sentAt = Date.now();
    const lost = await api(nodes.a, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'while-c-was-down', node: 'node-c', labels: { owner: 'fleet' } },
    });
    const answeredMs = Date.now() - sentAt;
    console.log(
      `launch queued for a killed node answered ${answeredMs} ms later (window ${HEARTBEAT_TIMEOUT_S} s)`,
    );
    expect(lost.status).toBe(504);
    expect(lost.body.code).toBe('DISPATCH_NODE_LOST');
    const { launchRequestId, containerId } = lost.body.detail as {
      launchRequestId: string;
      containerId: string;
    };
    expect(lost.body.message).toContain(`launch ${launchRequestId} queued`);
    expect(lost.body.message).toContain(`GET /containers/${containerId}`);
    expect(answeredMs).toBeLessThan((HEARTBEAT_TIMEOUT_S + 3) * 1000);
    expect((await api(nodes.a, 'GET', `/containers/${containerId}`)).status).toBe(404);
    // C comes back: the queued job runs, once, and makes the container the answer named.
    await startNode(nodes.c);
    const made = await eventually('the launch run on C once it is back', async () => {
      const r = await api(nodes.a, 'GET', `/containers/${containerId}`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(made).toMatchObject({ name: 'while-c-was-down', node: 'node-c', state: 'created' });
    const onC = (await api(nodes.c, 'GET', '/containers?all=true')).body as Array<{ id: string }>;
    expect(onC.map((c) => c.id)).toEqual([containerId]);
    expect((await api(nodes.a, 'DELETE', `/containers/${containerId}`)).status).toBe(204);
    await verifyChain(nodes.c);
  }, 120_000);

  it('kill -9 of node B: its containers show unknown on A after the heartbeat window, then reconcile when B returns', async () => {
    await importBusybox(nodes.b);
    const made = await api(nodes.b, 'POST', '/containers', {
      body: {
        image: 'busybox:1.35',
        name: 'on-b',
        labels: { owner: 'fleet' },
        cmd: ['sh', '-c', 'while :; do sleep 0.2; done'],
      },
    });
    expect(made.status).toBe(201);
    expect((await api(nodes.b, 'POST', `/containers/${made.body.id}/start`)).status).toBe(200);
    const id = made.body.id as string;
    const onA = async () => (await api(nodes.a, 'GET', `/containers/${id}`)).body;
    expect(await onA()).toMatchObject({ state: 'running', node: 'node-b' });
    expect((await api(nodes.a, 'GET', '/nodes/node-b')).body.containers).toEqual({
      running: 1,
      unknown: 0,
      total: 1,
    });
    const rowsBefore = (await verifyChain(nodes.a)).rows;

    const killedAt = Date.now();
    process.kill(nodes.b.proc!.child.pid!, 'SIGKILL');
    expect(await nodes.b.proc!.exit).toBe('SIGKILL');
    const down = await eventually(
      'node-b down on A',
      async () => {
        const n = (await api(nodes.a, 'GET', '/nodes/node-b')).body;
        return n.status === 'down' ? n : undefined;
      },
      (HEARTBEAT_TIMEOUT_S + 5) * 1000,
    );
    const detectedMs = Date.now() - killedAt;
    console.log(`node-b seen down on A ${detectedMs} ms after kill -9 (window ${HEARTBEAT_TIMEOUT_S} s)`);
    expect(detectedMs).toBeLessThan((HEARTBEAT_TIMEOUT_S + 2) * 1000);
    expect(down.containers).toEqual({ running: 0, unknown: 1, total: 1 });
    expect(down.containerList).toEqual([expect.objectContaining({ id, name: 'on-b', state: 'unknown' })]);
    // The row is not written over: every view computes it.
    expect(await onA()).toMatchObject({ state: 'unknown', recordedState: 'running', node: 'node-b' });
    const listed = (await api(nodes.c, 'GET', '/containers')).body as Array<{ id: string; state: string }>;
    expect(listed.find((c) => c.id === id)?.state).toBe('unknown');
    const consoleRows = (await api(nodes.c, 'GET', '/console/containers')).body.containers as Array<{
      id: string;
      state: string;
      recordedState?: string;
      node: string;
    }>;
    expect(consoleRows.find((c) => c.id === id)).toMatchObject({
      state: 'unknown',
      recordedState: 'running',
      node: 'node-b',
    });
    const nodeList = (await api(nodes.c, 'GET', '/nodes')).body as Array<{ name: string; status: string }>;
    expect(nodeList.map((n) => `${n.name}:${n.status}`)).toEqual(['node-a:up', 'node-b:down', 'node-c:up']);
    // A launch for the down node is refused before anything is decided or queued.
    const decisions = async () =>
      (await api(nodes.a, 'GET', '/audit/events?type=policy.decision&limit=1000')).body.events.length;
    const decidedBefore = await decisions();
    const toDown = await api(nodes.a, 'POST', '/containers', {
      body: { image: 'busybox:1.35', node: 'node-b', labels: { owner: 'fleet' } },
    });
    expect(toDown.status).toBe(409);
    expect(toDown.body.code).toBe('NODE_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 300)); // a decision, had one been made, would be in the trail by now
    expect(await decisions()).toBe(decidedBefore);
    // A stream of a down node's container: refused at once, naming the node, nothing sent.
    const logs = await new DockerCli(path.join(nodes.a.dataDir, 'docker.sock')).run(['logs', 'on-b']);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toMatch(/runs on node node-b, which is not up/);
    await verifyChain(nodes.a);
    await consoleNodesPage(nodes.a.url, id);

    // B comes back on the same data dir: recovery adopts the container, then B heartbeats again.
    await startNode(nodes.b);
    await eventually(
      'node-b up on A',
      async () => (await api(nodes.a, 'GET', '/nodes/node-b')).body.status === 'up',
    );
    expect(await onA()).toMatchObject({ state: 'running', node: 'node-b' });
    expect((await onA()).recordedState).toBeUndefined();
    expect((await api(nodes.a, 'GET', '/nodes/node-b')).body.containers).toEqual({
      running: 1,
      unknown: 0,
      total: 1,
    });
    // Still the same process, adopted, and B acts on it: stop records its exit.
    const stopped = await api(nodes.b, 'POST', `/containers/${id}/stop?t=1`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.state).toBe('exited');
    const after = await verifyChain(nodes.c);
    expect(after.rows).toBeGreaterThan(rowsBefore);
  }, 120_000);
});
