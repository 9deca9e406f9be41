import { seedConsole, ConsoleSeed } from '../utils/console-seed';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The API calls the review console makes, with the queries its pages send by default, as
 * an auditor: each must answer 2xx. The Usage page's `?from=` once answered 500
 * (`timestamp with time zone > interval`) and no test had opened it with its own query.
 */
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
    const team = r.body.rollups.filter((x: { label: string; value: string }) => x.label === 'team');
    expect(team).toEqual([
      expect.objectContaining({ value: 'payments', containers: 1, cpuSeconds: 12, oomKills: 1 }),
    ]);
    const to = new Date(Date.now() + 3_600_000).toISOString();
    expect((await get(`/usage?from=${from}&to=${to}&label=team=payments`)).body.rollups).toHaveLength(1);
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
});
