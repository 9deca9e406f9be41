import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { importBusybox } from '../utils/containers';
import { fleetNode, fleetServices, startNode, stopFleet, type FleetNode } from '../utils/fleet-nodes';
import { eventually } from '../utils/services';
import { socketRequest } from '../utils/docker-cli';
import { hijack } from '../utils/hijack';
import { ADMIN_TOKEN, api, socketAsAdmin } from '../utils/warden';

/**
 * The REST API's container verbs on a node that does not run the container (issue 18): two
 * Warden nodes on one PostgreSQL and one Redis; A runs the containers, every request goes to
 * B. B hands each on to A (fleet/node-forwarder.ts, as the Docker API's are) and answers as A
 * answered; with A killed, B answers 504 `DISPATCH_NODE_LOST` at once, and 409
 * `NODE_UNAVAILABLE` once A's heartbeat window has passed.
 */

const HEARTBEAT_TIMEOUT_S = 2;

describe('REST verbs and docker exec on B for a container that A runs', () => {
  let services: Awaited<ReturnType<typeof fleetServices>>;
  const nodes: Record<'a' | 'b', FleetNode> = {} as never;
  let auditor: string;
  let id: string;

  const onA = async () => (await api(nodes.a, 'GET', `/containers/${id}`)).body;

  beforeAll(async () => {
    services = await fleetServices();
    const { db, redis } = services;
    const shared = { databaseUrl: db.url, redisUrl: redis.url, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S };
    for (const k of ['a', 'b'] as const) nodes[k] = await fleetNode(`rfw-${k}`, shared);
    await startNode(nodes.a); // it applies the migrations
    await startNode(nodes.b);
    await importBusybox(nodes.a);
    expect(
      (await api(nodes.b, 'POST', '/principals', { body: { id: 'rfw-aud', role: 'auditor' } })).status,
    ).toBe(201);
    auditor = (await api(nodes.b, 'POST', '/tokens', { body: { principalId: 'rfw-aud', name: 't' } })).body
      .token;
    const made = await api(nodes.a, 'POST', '/containers', {
      body: {
        image: 'busybox:1.35',
        name: 'svc',
        openStdin: true,
        cmd: ['sh', '-c', 'echo hello; while :; do sleep 0.2; done'],
      },
    });
    expect(made.status).toBe(201);
    id = made.body.id;
    expect((await api(nodes.a, 'POST', `/containers/${id}/start`)).status).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await stopFleet(Object.values(nodes), services);
  }, 120_000);

  it('logs, stats, top, exec, pause, unpause, restart and wait act on A and answer as A does', async () => {
    await eventually('its log through B', async () => {
      const r = await api(nodes.b, 'GET', `/containers/${id}/logs`);
      // One line of NDJSON parses as JSON: look at it as text either way.
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      return r.status === 200 && text.includes('"log":"hello\\n"');
    });
    const logs = await api(nodes.b, 'GET', `/containers/${id}/logs?tail=1`);
    expect(logs.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    expect(logs.body).toEqual((await api(nodes.a, 'GET', `/containers/${id}/logs?tail=1`)).body);

    const stats = await api(nodes.b, 'GET', `/containers/${id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ id, name: 'svc', stats: { memory: expect.any(Object) } });
    // What the hop costs: stats on A itself and through B, interleaved, medians.
    const took: Record<'a' | 'b', number[]> = { a: [], b: [] };
    for (let i = 0; i < 20; i++)
      for (const k of ['a', 'b'] as const) {
        const t = performance.now();
        expect((await api(nodes[k], 'GET', `/containers/${id}/stats`)).status).toBe(200);
        took[k].push(performance.now() - t);
      }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1].toFixed(1);
    console.log(
      `GET /containers/{id}/stats, median of 20 interleaved: on A ${median(took.a)} ms, through B ${median(took.b)} ms (load ${os.loadavg()[0].toFixed(2)})`,
    );
    const top = await api(nodes.b, 'GET', `/containers/${id}/top`);
    expect(top.status).toBe(200);
    expect(JSON.stringify(top.body.Processes)).toMatch(/sleep|while/);

    const exec = await api(nodes.b, 'POST', `/containers/${id}/exec`, {
      body: { cmd: ['sh', '-c', 'cat /etc/hostname; exit 5'] },
    });
    expect(exec.status).toBe(200);
    expect(exec.body).toMatchObject({ exitCode: 5, stdout: `${id.slice(0, 12)}\n` });
    // The exec's audit trail names the caller B authenticated, under B's request id.
    const requestId = exec.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    const started = await eventually('the exec in the trail', async () => {
      const e = await api(nodes.a, 'GET', `/audit/events?type=exec.started&subject=${id}`);
      return (e.body.events as Array<{ payload: { execId: string } }>).find(
        (x) => x.payload.execId === exec.body.execId,
      );
    });
    expect(started).toMatchObject({ principal: 'admin', source: { via: 'http', requestId } });

    expect((await api(nodes.b, 'POST', `/containers/${id}/pause`)).body).toMatchObject({ state: 'paused' });
    expect(await onA()).toMatchObject({ state: 'paused' });
    expect((await api(nodes.b, 'POST', `/containers/${id}/unpause`)).body).toMatchObject({
      state: 'running',
    });
    const startedBefore = (await onA()).startedAt;
    const restarted = await api(nodes.b, 'POST', `/containers/${id}/restart?t=0`);
    expect(restarted.status).toBe(200);
    expect(restarted.body).toMatchObject({ state: 'running', node: 'rfw-a' });
    expect((await onA()).startedAt).not.toBe(startedBefore);

    // A wait through B sees the exit A records (the kill goes through A's queue).
    const waiting = api(nodes.b, 'POST', `/containers/${id}/wait`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(nodes.b, 'POST', `/containers/${id}/kill`)).status).toBe(204);
    expect(await waiting).toMatchObject({ status: 200, body: { statusCode: 137 } });
    expect((await api(nodes.b, 'POST', `/containers/${id}/start`)).status).toBe(200);
    // Nothing of it was ever on B.
    expect(fs.existsSync(path.join(nodes.b.dataDir, 'containers', id))).toBe(false);
  }, 120_000);

  it("A's own answers come back: its role check, its validation, its 404; a forged ticket is refused", async () => {
    const denied = await api(nodes.b, 'POST', `/containers/${id}/exec`, {
      token: auditor,
      body: { cmd: ['true'] },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/needs role admin or deployer; principal 'rfw-aud' has role auditor/);
    // Reading is the auditor's: logs through B.
    expect((await api(nodes.b, 'GET', `/containers/${id}/logs?tail=1`, { token: auditor })).status).toBe(200);
    const bad = await api(nodes.b, 'POST', `/containers/${id}/exec`, { body: { cmd: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/must name a command/);
    expect((await api(nodes.b, 'GET', `/containers/${id}/logs`, { token: null })).status).toBe(401);
    expect((await api(nodes.b, 'GET', `/containers/${id}/logs`, { token: 'nope' })).status).toBe(401);
    expect((await api(nodes.b, 'GET', '/containers/no-such/logs')).status).toBe(404);
    const forged = await fetch(`${nodes.a.url}/containers/${id}/logs`, {
      headers: { 'x-warden-forward': 'a'.repeat(32) },
    });
    expect(forged.status).toBe(401);
  });

  it('the WebSocket attach through B reaches the container on A', async () => {
    const ws = new WebSocket(`${nodes.b.url.replace(/^http/, 'ws')}/containers/${id}/attach/ws?stdin=1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    let seen = '';
    ws.on('message', (d: Buffer) => (seen += d.toString()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    // The container's shell is PID 1 reading nothing: a second one started by exec writes to
    // its stdout, which the attach shows.
    await api(nodes.b, 'POST', `/containers/${id}/exec`, {
      body: { cmd: ['sh', '-c', 'echo via-attach-$((40+2)) > /proc/1/fd/1'] },
    });
    await eventually('the output through the attach', async () => seen.includes('via-attach-42'));
    ws.close();
  });

  it("a docker exec created through A's socket starts and is inspected through B's (where it lives is in Redis)", async () => {
    await socketAsAdmin(nodes.a);
    const sock = (n: FleetNode) => path.join(n.dataDir, 'docker.sock');
    const made = await socketRequest(sock(nodes.a), 'POST', `/containers/${id}/exec`, {
      Cmd: ['sh', '-c', 'echo made-on-a; exit 3'],
      AttachStdout: true,
    });
    expect(made.status).toBe(201);
    const execId = (JSON.parse(made.body) as { Id: string }).Id;
    // Before, B knew only the exec instances made through B: 404 "No such exec instance".
    const before = await socketRequest(sock(nodes.b), 'GET', `/exec/${execId}/json`);
    expect(before.status).toBe(200);
    expect(JSON.parse(before.body)).toMatchObject({ ID: execId, Running: false, ExitCode: null });
    const stream = await hijack(sock(nodes.b), `/exec/${execId}/start`, { Detach: false, Tty: false });
    expect(stream.status).toBe(101);
    await stream.closed;
    expect(stream.received().toString()).toContain('made-on-a');
    const after = await socketRequest(sock(nodes.b), 'GET', `/exec/${execId}/json`);
    expect(JSON.parse(after.body)).toMatchObject({ Running: false, ExitCode: 3 });
    // An id no node made: B's own 404.
    const none = await socketRequest(sock(nodes.b), 'GET', `/exec/${'0'.repeat(64)}/json`);
    expect(none.status).toBe(404);
  });

  it('A killed: B answers 504 DISPATCH_NODE_LOST at once (a wait in flight too), 409 once A is down, and A back serves again', async () => {
    const waiting = api(nodes.b, 'POST', `/containers/${id}/wait`);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(nodes.a.proc!.child.pid!, 'SIGKILL');
    expect(await nodes.a.proc!.exit).toBe('SIGKILL');
    const inFlight = await waiting;
    expect(inFlight.status).toBe(504);
    expect(inFlight.body).toMatchObject({ code: 'DISPATCH_NODE_LOST', detail: { node: 'rfw-a' } });
    // Within A's heartbeat window: A still counts as up, its connection is refused.
    const t0 = Date.now();
    const lost = await api(nodes.b, 'GET', `/containers/${id}/stats`);
    console.log(`REST stats of a killed node's container answered in ${Date.now() - t0} ms`);
    expect(lost.status).toBe(504);
    expect(lost.body.code).toBe('DISPATCH_NODE_LOST');
    expect(lost.body.message).toMatch(
      /runs on node rfw-a, which did not answer \(ECONNREFUSED\).*Nothing was done there/,
    );
    await eventually(
      'rfw-a down on B',
      async () => (await api(nodes.b, 'GET', '/nodes/rfw-a')).body.status === 'down',
      (HEARTBEAT_TIMEOUT_S + 5) * 1000,
    );
    const down = await api(nodes.b, 'POST', `/containers/${id}/exec`, { body: { cmd: ['true'] } });
    expect(down.status).toBe(409);
    expect(down.body).toMatchObject({ code: 'NODE_UNAVAILABLE' });
    expect(down.body.message).toMatch(/runs on node rfw-a, which is not up/);

    await startNode(nodes.a);
    await eventually(
      'rfw-a up on B',
      async () => (await api(nodes.b, 'GET', '/nodes/rfw-a')).body.status === 'up',
    );
    const back = await api(nodes.b, 'POST', `/containers/${id}/exec`, { body: { cmd: ['echo', 'back'] } });
    expect(back.body).toMatchObject({ exitCode: 0, stdout: 'back\n' });
  }, 120_000);
});
