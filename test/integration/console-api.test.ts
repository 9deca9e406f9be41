import { randomUUID } from 'node:crypto';
import { AuditEventRepository, type AuditEventType } from '../../src/audit';
import { newContainerId, seedConsole, ConsoleSeed } from '../utils/console-seed';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The API calls the review console makes, with the queries its pages send by default, as
 * an auditor: each must answer 2xx. The Usage page's `?from=` once answered 500
 * (`timestamp with time zone > interval`) and no test had opened it with its own query.
 */
const MiB = 1024 ** 2;

describe('review console API, as the pages call it', () => {
  let w: TestWarden;
  let seed: ConsoleSeed;
  const get = (p: string) => api(w, 'GET', p, { token: seed.auditor });

  beforeAll(async () => {
    w = await startTestWarden('up');
    seed = await seedConsole(w);
  }, 120_000);
  afterAll(async () => w?.close());

  it("the Usage page's default query (the last 7 days) answers the seeded rollups", async () => {
    const from = new Date(Date.now() - 7 * 864e5).toISOString();
    const r = await get(`/usage?from=${from}`);
    expect(r.status).toBe(200);
    // Summed per team: the seeded runs may straddle an hour.
    const team = new Map<string, { cpu: number; ooms: number }>();
    for (const x of r.body.rollups.filter((x: { label: string }) => x.label === 'team')) {
      const t = team.get(x.value) ?? { cpu: 0, ooms: 0 };
      team.set(x.value, { cpu: t.cpu + x.cpuSeconds, ooms: t.ooms + x.oomKills });
    }
    expect(Object.fromEntries(team)).toEqual({ payments: { cpu: 12, ooms: 1 }, search: { cpu: 3, ooms: 0 } });
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const payments = (await get(`/usage?from=${from}&to=${to}&label=team=payments`)).body.rollups;
    expect(payments.length).toBeGreaterThanOrEqual(1);
    expect(payments.every((x: { value: string }) => x.value === 'payments')).toBe(true);
    // A window that ends before the samples has none of them.
    expect((await get(`/usage?to=${from}`)).body.rollups).toEqual([]);
  });

  it('every call the other pages make answers 2xx for an auditor', async () => {
    const calls = [
      '/containers?all=true',
      '/audit/events?type=policy.decision&order=desc&limit=200',
      '/audit/events?type=policy.decision&order=desc&limit=200&decision=denied&principal=alice',
      '/audit/events?type=policy.decision&order=desc&limit=200&decision=would-deny',
      `/reports/stories/${seed.removedId}`,
      '/policies',
      '/policies/baseline/versions',
      '/policies/search-trial/versions',
      '/exceptions',
      '/audit/verify',
    ];
    for (const p of calls) {
      const r = await get(p);
      expect({ p, status: r.status, body: r.status < 300 ? 'ok' : r.body }).toEqual({
        p,
        status: 200,
        body: 'ok',
      });
    }
    const wouldDeny = await get('/audit/events?type=policy.decision&decision=would-deny');
    expect(wouldDeny.body.events.map((e: { principal: string }) => e.principal)).toEqual(['bob']);
    const story = await get(`/reports/stories/${seed.removedId}`);
    expect(story.body.exit.payload).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  it('the overview aggregates the window: decisions over time, top rules, teams and images, OOM kills, exceptions, chain head, queues', async () => {
    const r = await get('/console/overview');
    expect(r.status).toBe(200);
    const o = r.body;
    expect(o.window.bucketSeconds).toBe(1800);
    expect(o.decisions.totals).toEqual({ allowed: 2, denied: 2, wouldDeny: 1 });
    const bars = o.decisions.buckets as Array<{ allowed: number; denied: number; wouldDeny: number }>;
    expect(bars).toHaveLength(48);
    expect(bars.reduce((a, b) => a + b.allowed + b.denied + b.wouldDeny, 0)).toBe(5);
    expect(o.topRules).toEqual([
      { rule: 'capabilities.allowAdd', denied: 0, wouldDeny: 1 },
      { rule: 'privileged.allow', denied: 1, wouldDeny: 0 },
      { rule: 'resources.memory.max', denied: 1, wouldDeny: 0 },
    ]);
    // Only payments was denied: search's violation was under an audit-mode policy.
    expect(o.topTeams).toEqual([{ team: 'payments', denied: 2 }]);
    expect(o.topImages).toEqual([
      { image: 'payments/api:1.0', denied: 1 },
      { image: 'payments/worker:2', denied: 1 },
    ]);
    expect(o.containers).toEqual({ oomKills: 1, restarts: 0, exits: 2 });
    expect(o.exceptionsExpiring).toEqual([
      expect.objectContaining({ id: seed.exceptionId, rule: 'privileged.allow', team: 'payments' }),
    ]);
    expect((await get('/console/overview?expiringDays=1')).body.exceptionsExpiring).toEqual([]);
    const verify = await get('/audit/verify');
    expect(o.chainHead).toEqual(expect.objectContaining(verify.body.head));
    expect(o.queues.map((q: { name: string }) => q.name)).toEqual(['audit', 'usage', 'reports']);
    expect(o.queues.every((q: { error?: string; failed: number }) => !q.error && q.failed === 0)).toBe(true);

    // A window before anything happened is empty, not an error.
    const old = await get('/console/overview?from=2020-01-01T00:00:00Z&to=2020-01-08T00:00:00Z');
    expect(old.status).toBe(200);
    expect(old.body.window.bucketSeconds).toBe(3 * 3600);
    expect(old.body.decisions.totals).toEqual({ allowed: 0, denied: 0, wouldDeny: 0 });
    expect(old.body.decisions.buckets).toHaveLength(56);
    expect(old.body.decisions.buckets[1]).toEqual({
      start: '2020-01-01T03:00:00.000Z',
      allowed: 0,
      denied: 0,
      wouldDeny: 0,
    });
  });

  it('the overview says what is wrong with a bad window, and is not for anonymous callers', async () => {
    const backwards = await get('/console/overview?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(backwards.status).toBe(400);
    expect(JSON.stringify(backwards.body)).toMatch(/to.*must be after from/);
    const tooLong = await get('/console/overview?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body)).toMatch(/at most 400 days/);
    expect((await get('/console/overview?from=yesterday')).status).toBe(400);
    expect((await api(w, 'GET', '/console/overview', { token: null })).status).toBe(401);
  });

  const tokenOf = async (principalId: string) =>
    (await api(w, 'POST', '/tokens', { body: { principalId, name: 'deployer view' } })).body.token as string;

  it("a deployer's overview is its teams' decisions, containers and exceptions, without the chain and queues", async () => {
    const alice = await api(w, 'GET', '/console/overview', { token: await tokenOf('alice') });
    expect(alice.status).toBe(200);
    expect(alice.body.decisions.totals).toEqual({ allowed: 1, denied: 2, wouldDeny: 0 });
    expect(alice.body.topTeams).toEqual([{ team: 'payments', denied: 2 }]);
    expect(alice.body.topRules.map((r: { rule: string }) => r.rule)).toEqual([
      'privileged.allow',
      'resources.memory.max',
    ]);
    expect(alice.body.containers).toEqual({ oomKills: 1, restarts: 0, exits: 1 });
    expect(alice.body.exceptionsExpiring.map((x: { id: string }) => x.id)).toEqual([seed.exceptionId]);
    expect(alice.body.chainHead).toBeNull();
    expect(alice.body.queues).toEqual([]);

    const bob = await api(w, 'GET', '/console/overview', { token: await tokenOf('bob') });
    expect(bob.status).toBe(200);
    expect(bob.body.decisions.totals).toEqual({ allowed: 1, denied: 0, wouldDeny: 1 });
    expect(bob.body.topTeams).toEqual([]);
    expect(bob.body.topImages).toEqual([]);
    expect(bob.body.containers).toEqual({ oomKills: 0, restarts: 0, exits: 1 });
    expect(bob.body.exceptionsExpiring).toEqual([]);
    expect(JSON.stringify(bob.body)).not.toContain('payments');
  });

  it("a deployer requests, lists and reads its team's reports only; another team's is 404", async () => {
    const [alice, bob] = [await tokenOf('alice'), await tokenOf('bob')];
    const window = {
      from: new Date(Date.now() - 864e5).toISOString(),
      to: new Date(Date.now() + 864e5).toISOString(),
    };
    const other = await api(w, 'POST', '/reports', { token: alice, body: { ...window, team: 'search' } });
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/not in team 'search'/);
    const asked = await api(w, 'POST', '/reports', { token: alice, body: window });
    expect(asked.status).toBe(201);
    const id = asked.body.id as string;
    const done = await eventually('the report', async () => {
      const r = await api(w, 'GET', `/reports/${id}`, { token: alice });
      return r.body.status === 'done' || r.body.status === 'failed' ? r.body : undefined;
    });
    expect(done).toMatchObject({ status: 'done', params: { team: 'payments' } });
    const json = (await api(w, 'GET', `/reports/${id}/files/report.json`, { token: alice })).body;
    // Its team's part only: decisions, cap hits and showback of payments.
    expect(json.population).toMatchObject({ launches: 3, denied: 2, containersCreated: 1 });
    expect(json.capHits.map((c: { name: string }) => c.name)).toEqual(['batch-job']);
    const keys = json.showback.rows.map((r: { key: string }) => r.key);
    expect(keys).toContain('team:payments');
    expect(keys.join(' ')).not.toContain('search');
    // Volume bytes join showback: batch-job's volume held 5 MiB.
    const team = json.showback.rows.find((r: { key: string }) => r.key === 'team:payments');
    expect(team.peakVolumeBytes).toBe(5 * MiB);

    expect((await api(w, 'GET', `/reports/${id}`, { token: bob })).status).toBe(404);
    expect((await api(w, 'GET', `/reports/${id}/files/report.json`, { token: bob })).status).toBe(404);
    const ids = (r: { body: { reports: Array<{ id: string }> } }) => r.body.reports.map((x) => x.id);
    expect(ids(await api(w, 'GET', '/reports', { token: bob }))).not.toContain(id);
    const mine = await api(w, 'GET', '/reports', { token: alice });
    expect(ids(mine)).toContain(id);
    expect(mine.body.reports.find((x: { id: string }) => x.id === id).files.length).toBeGreaterThan(2);
    expect(ids(await get('/reports?limit=200'))).toContain(id);
    expect((await get('/reports?limit=0')).status).toBe(400);
    expect((await get('/reports?before=yesterday')).status).toBe(400);
  });

  it('lists removed containers from the trail beside the live ones, with filters', async () => {
    const all = await get('/console/containers');
    expect(all.status).toBe(200);
    expect(all.body.containers).toEqual([
      expect.objectContaining({
        id: seed.oversizedId,
        name: 'search-indexer',
        state: 'removed',
        exitCode: 0,
      }),
      expect.objectContaining({
        id: seed.removedId,
        name: 'batch-job',
        image: 'payments/worker:2',
        state: 'removed',
        createdBy: 'alice',
        exitCode: 137,
        oomKilled: true,
        memoryBytes: 256 * 1024 ** 2,
        removedAt: expect.any(String),
      }),
    ]);
    expect((await get('/console/containers?state=removed&q=batch')).body.containers).toHaveLength(1);
    const search = await get('/console/containers?team=search');
    expect(search.body.containers.map((c: { name: string }) => c.name)).toEqual(['search-indexer']);
    expect((await get(`/console/containers?q=${seed.removedId.slice(0, 12)}`)).body.containers).toHaveLength(
      1,
    );
    expect((await get('/console/containers?q=100%25')).body.containers).toEqual([]);
    expect((await get('/console/containers?state=running')).body.containers).toEqual([]);
    const bad = await get('/console/containers?state=gone');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/state/);
  });

  it('every audit row has a URL: one row by its seq, 404 past the head, 400 for a non-number', async () => {
    const [decision] = (await get('/audit/events?type=policy.decision&limit=1')).body.events;
    const one = await get(`/audit/events/${decision.seq}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(decision);
    const head = (await get('/console/overview')).body.chainHead.seq;
    const missing = await get(`/audit/events/${head + 1000}`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe(`no audit row at seq ${head + 1000}`);
    expect((await get('/audit/events/first')).status).toBe(400);
  });

  it('usage per team, image or label: CPU-seconds, peak against the cap, right-sizing, OOM kills, and as CSV', async () => {
    const byTeam = await get('/console/usage');
    expect(byTeam.status).toBe(200);
    expect(byTeam.body.groups).toEqual([
      {
        key: 'payments',
        containers: 1,
        cpuSeconds: 12,
        memoryPeakBytes: 256 * MiB,
        memoryCapBytes: 256 * MiB,
        oomKills: 1,
        oversized: 0,
        ioReadBytes: 12 * MiB,
        ioWriteBytes: 6 * MiB,
        volumeBytes: 5 * MiB,
      },
      {
        key: 'search',
        containers: 1,
        cpuSeconds: 3,
        memoryPeakBytes: 20 * MiB,
        memoryCapBytes: 512 * MiB,
        oomKills: 0,
        oversized: 1,
        ioReadBytes: 0,
        ioWriteBytes: 0,
        volumeBytes: 0,
      },
    ]);
    expect(byTeam.body.containers).toEqual([
      expect.objectContaining({ name: 'batch-job', capShare: 1, oversized: false, ioReadBytes: 12 * MiB }),
      // No block I/O recorded for it: null, not zero.
      expect.objectContaining({
        name: 'search-indexer',
        capShare: 20 / 512,
        oversized: true,
        ioReadBytes: null,
        ioWriteBytes: null,
        volumeBytes: null,
      }),
    ]);
    const byImage = await get('/console/usage?by=image');
    expect(byImage.body.groups.map((g: { key: string }) => g.key)).toEqual([
      'payments/worker:2',
      'search/indexer:3',
    ]);
    const byApp = await get('/console/usage?by=label:app');
    expect(byApp.body.groups.map((g: { key: string }) => g.key)).toEqual(['batch', 'search']);
    // A window that starts after the first samples counts only the increase inside it.
    const late = new Date(Date.now() - 30 * 60_000 + 20_000).toISOString();
    const part = await get(`/console/usage?from=${late}`);
    const partPayments = part.body.groups.find((g: { key: string }) => g.key === 'payments');
    expect(partPayments.cpuSeconds).toBe(10);
    expect(partPayments.ioReadBytes).toBe(8 * MiB);

    const csv = await api(w, 'GET', '/console/usage?by=team&format=csv', { token: seed.auditor });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = String(csv.body).trim().split('\r\n');
    expect(lines[0]).toBe(
      'team,container_id,name,image,cpu_seconds,memory_peak_bytes,memory_cap_bytes,cap_share,oversized,oom_kills,io_read_bytes,io_write_bytes,volume_bytes',
    );
    expect(lines[1]).toMatch(new RegExp(`,1,${12 * MiB},${6 * MiB},${5 * MiB}$`));
    expect(lines[2]).toBe(
      `search,${seed.oversizedId},search-indexer,search/indexer:3,3,${20 * MiB},${512 * MiB},0.0390625,true,0,,,`,
    );
    expect((await get('/console/usage?by=owner')).status).toBe(400);
  });

  // Last: it adds a container's events, which the counts above do not expect.
  it("counts a restart (a start after an earlier start) in the overview, in alice's view and not in bob's", async () => {
    const id = newContainerId();
    const at = (s: number) => new Date(Date.now() - 10 * 60_000 + s * 1000).toISOString();
    const event = (type: AuditEventType, s: number, payload: Record<string, unknown> = {}) => ({
      id: randomUUID(),
      occurredAt: at(s),
      type,
      principal: 'alice',
      source: { via: 'cli' as const },
      subject: id,
      payload: { name: 'flaky', image: 'payments/api:1.0', ...payload },
    });
    await w.app
      .get(AuditEventRepository)
      .append([
        event('container.created', 0, { spec: { labels: { team: 'payments' } } }),
        event('container.started', 1),
        event('container.died', 5, { exitCode: 1, oomKilled: false }),
        event('container.started', 7),
      ]);
    const restarts = async (token: string) =>
      (await api(w, 'GET', '/console/overview', { token })).body.containers.restarts;
    expect(await restarts(seed.auditor)).toBe(1);
    expect(await restarts(await tokenOf('alice'))).toBe(1);
    expect(await restarts(await tokenOf('bob'))).toBe(0);
  });
});
