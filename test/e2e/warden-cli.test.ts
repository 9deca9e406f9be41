import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../src/platform/process/child-process';
import { assertBuilt, processesMentioning, runCli, startCli, waitHealthy } from '../utils/cli';
import { eventually } from '../utils/services';
import { processAlive } from '../utils/processes';

const TOKEN = 'cli-test-admin-token-000000';

async function get(url: string, p: string) {
  const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: r.status, body: (await r.json()) as any };
}

/** No error-level (50+) log lines: nothing the clients did wrong may be logged as a server failure. */
function errorLines(output: string): string[] {
  return output.split('\n').filter((l) => /"level":(50|60)/.test(l));
}

describe('the warden command on embedded defaults (own PostgreSQL and redis-server)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cli-'));
  let port: number;
  let url: string;
  const env = () => ({
    WARDEN_DATA_DIR: dataDir,
    WARDEN_PORT: String(port),
    WARDEN_ADMIN_TOKEN: TOKEN,
    WARDEN_LOG_LEVEL: 'info',
    // A parent of its own: the default one may be held by another Warden on this host.
    WARDEN_CGROUP_PARENT: `warden-cli-${process.pid}`,
  });

  beforeAll(async () => {
    assertBuilt();
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => {
    expect(processesMentioning(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, is healthy, stops on SIGINT leaving nothing running', async () => {
    const w = startCli(['up'], env());
    await waitHealthy(url, w);
    const created = await fetch(`${url}/principals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'dave', role: 'deployer' }),
    });
    expect(created.status).toBe(201);
    // client mistakes along the way are answered, not logged as server errors
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect(
      (
        await fetch(`${url}/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{',
        })
      ).status,
    ).toBe(400);
    expect((await fetch(`${url}/audit/events`)).status).toBe(401);

    const pgPid = Number(
      fs.readFileSync(path.join(dataDir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const redisPid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    expect(processesMentioning(dataDir).length).toBeGreaterThanOrEqual(2);

    w.child.kill('SIGINT');
    expect(await w.exit).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
    for (const pid of [pgPid, redisPid]) expect(processAlive(pid)).toBe(false);
    expect(errorLines(w.output())).toEqual([]);
  });

  it('a second start reuses the same data: the row written before is still there, the chain intact', async () => {
    const w = startCli(['up'], env());
    await waitHealthy(url, w);
    const principals = await get(url, '/principals');
    expect(principals.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'dave', role: 'deployer' })]),
    );
    // Each `up` records its start, and so does the worker process it runs (the first one's
    // may have been stopped before it got that far).
    const roles = await eventually('both starts in the trail', async () => {
      const r = await get(url, '/audit/events?type=service.started');
      const seen: string[] = r.body.events.map((e: { payload: { role: string } }) => e.payload.role);
      const ups = seen.filter((x) => x === 'up').length;
      return ups === 2 && seen.includes('worker') ? seen : undefined;
    });
    expect(roles.filter((x) => x === 'up')).toHaveLength(2);
    expect((await get(url, '/audit/verify')).body).toMatchObject({ ok: true });

    // kill -9: the helper servers get their parent-death signal; nothing is orphaned
    w.child.kill('SIGKILL');
    await w.exit;
    await eventually(
      'helper servers to exit after kill -9',
      async () => processesMentioning(dataDir).length === 0,
      30000,
    );
  });

  it('after a kill -9 it starts again on the same data', async () => {
    const w = startCli(['up'], env());
    await waitHealthy(url, w);
    expect((await get(url, '/principals')).body.map((p: { id: string }) => p.id)).toContain('dave');
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
  });

  it("serve and worker run apart: serve only enqueues, the worker commits, sharing serve's embedded servers", async () => {
    const serve = startCli(['serve'], env());
    await waitHealthy(url, serve);
    const seen = async () => (await get(url, '/audit/events?type=service.started')).body.events.length;
    const before = await seen();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await seen()).toBe(before); // no processor in the serve role
    const worker = startCli(['worker'], env());
    await eventually(
      'the worker to commit what serve enqueued',
      async () => (await seen()) >= before + 2,
      60000,
    );
    worker.child.kill('SIGINT');
    expect(await worker.exit).toBe(0);
    serve.child.kill('SIGINT');
    expect(await serve.exit).toBe(0);
  });

  it('a worker without URLs and without a running serve says what to do', () => {
    const r = runCli(['worker'], env());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL and REDIS_URL not set and no running 'warden serve'/);
  });
});

describe('warden command: config and doctor', () => {
  it('refuses bad configuration listing every problem, and starts nothing', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bad-'));
    const r = runCli(['up'], {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_PORT: '99999',
      DATABASE_URL: 'mysql://x',
      WARDEN_LOG_LEVEL: 'chatty',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    for (const k of ['WARDEN_PORT', 'DATABASE_URL', 'WARDEN_LOG_LEVEL']) expect(r.stderr).toContain(k);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true });
  });

  it('doctor reports this host from real probes, as a table and as JSON', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-doc-'));
    const json = runCli(['doctor', '--json'], { WARDEN_DATA_DIR: dataDir });
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as {
      items: Array<{ id: string; label: string; status: string; value: string }>;
    };
    const status = (id: string) => report.items.find((i) => i.id === id)?.status;
    // This machine (and CI, the same kind): root, Debian 12, cgroup v1 hybrid, no CAP_SYS_RESOURCE.
    expect(report.items.find((i) => i.label === 'cgroup mode')?.value).toBe('hybrid');
    expect(report.items.filter((i) => /namespace/.test(i.id) && i.status !== 'ok')).toEqual([]);
    expect(status('overlay')).toBe('ok');
    expect(status('pivot_root')).toBe('ok');
    expect(report.items.find((i) => /CAP_SYS_RESOURCE/.test(i.id))?.status).toBe('missing');
    const table = runCli(['doctor'], { WARDEN_DATA_DIR: dataDir });
    expect(table.stdout).toMatch(/CAP_SYS_RESOURCE\s+MISSING/);
    expect(table.stdout).toMatch(/cgroup v1 memory\s+OK/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
