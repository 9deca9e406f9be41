import { Client } from 'pg';
import { importBusybox } from '../utils/containers';
import { SentinelGroup } from '../utils/redis-sentinel';
import { eventually } from '../utils/services';
import { AuditService } from '../../src/audit';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Redis behind Sentinel (issue 18, point 3): Warden's REDIS_URL names three sentinels and the
 * master; the test fails the master over while launches (create → start of /bin/true) and
 * audit writers run, once gracefully (SENTINEL FAILOVER) and once by SIGKILL of the master,
 * and counts: launches resume on the new master, every acknowledged event is in the chain
 * once (an enqueue waits for a replica, so a promoted replica has it), every launch request
 * has its decision, the chain verifies.
 */
describe('Redis Sentinel: the master failed over mid-launch', () => {
  let group: SentinelGroup;
  let w: TestWarden;
  const acked: string[] = [];
  const created: string[] = [];
  const statuses = new Map<number, number>();
  const unexpected: Array<{ status: number; body: unknown }> = [];

  const call = async (method: string, p: string, body?: unknown) => {
    const r = await api(w, method, p, { body }).catch((err: Error) => ({ status: 0, body: err.message }));
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 0 || (r.status >= 500 && r.status !== 503)) unexpected.push(r);
    return r;
  };

  beforeAll(async () => {
    group = await SentinelGroup.start();
    w = await startTestWarden('up', { REDIS_URL: group.url });
    await importBusybox(w);
  });

  afterAll(async () => {
    await w?.close();
    await group?.stop();
  });

  async function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = new Client({ connectionString: w.databaseUrl });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as R[];
    } finally {
      await c.end();
    }
  }

  /**
   * Launchers and audit writers; `fail` runs 1 s in. The load goes on until 10 launches have
   * succeeded after the failure is complete (or `ms`): returns how many did and how soon the
   * first one did.
   */
  async function underLoad(ms: number, fail: () => Promise<void>): Promise<{ after: number; took: number }> {
    const stopAt = Date.now() + ms;
    let failedAt = Infinity;
    let resumed = Infinity;
    let after = 0;
    const going = () => Date.now() < stopAt && after < 10;
    const launcher = async () => {
      while (going()) {
        const c = await call('POST', '/containers', { image: 'busybox:1.35', cmd: ['true'] });
        if (c.status !== 201) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        created.push(c.body.id);
        const s = await call('POST', `/containers/${c.body.id}/start`);
        if (s.status === 200 && Date.now() > failedAt) {
          after += 1;
          resumed = Math.min(resumed, Date.now());
        }
      }
    };
    const audit = w.app.get(AuditService);
    const writer = async () => {
      while (going()) {
        try {
          const e = await audit.record({
            type: 'api.call',
            principal: 'sentinel-test',
            source: { via: 'system' },
          });
          acked.push(e.id);
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const failer = async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await fail();
      // From when the failure is complete: a kill at once, a graceful failover once the
      // sentinels name the new master (launches before that still reach the old one).
      failedAt = Date.now();
    };
    await Promise.all([failer(), launcher(), launcher(), writer(), writer(), writer()]);
    return { after, took: resumed - failedAt };
  }

  it('the master killed -9: the sentinels promote the replica, launches resume', async () => {
    const before = await group.masterPort();
    const r = await underLoad(40_000, async () => group.killMaster(before));
    const now = await group.masterPort();
    console.log(`master :${before} killed: now :${now}; ${r.after} launches after, first ${r.took} ms after`);
    expect(now).not.toBe(before);
    expect(r.after).toBeGreaterThanOrEqual(10);
  });

  it('a graceful failover: launches go on against the promoted replica', async () => {
    // After the kill the old master is gone: the promoted replica and the other one remain.
    await group.settled(1);
    const before = await group.masterPort();
    const r = await underLoad(40_000, () => group.failover());
    const now = await group.masterPort();
    console.log(
      `graceful failover :${before} → :${now}: ${r.after} launches after it, first ${r.took} ms after`,
    );
    expect(now).not.toBe(before);
    expect(r.after).toBeGreaterThanOrEqual(10);
  });

  it('counts: 0 acknowledged events lost or duplicated, every launch request with its decision, chain ok', async () => {
    let missing: string[] = [];
    await eventually(
      'every acknowledged event in the chain',
      async () => {
        const rows = await query<{ id: string }>(
          `SELECT id::text FROM audit_events WHERE id = ANY($1::uuid[])`,
          [acked],
        );
        const have = new Set(rows.map((x) => x.id));
        missing = acked.filter((id) => !have.has(id));
        return missing.length === 0;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${missing.length} of ${acked.length} missing`);
    });
    const [{ dupes }] = await query<{ dupes: string }>(
      `SELECT count(*) AS dupes FROM (SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1) d`,
    );
    await eventually(
      'every created container recorded',
      async () =>
        Number(
          (
            await query<{ n: string }>(
              `SELECT count(*) AS n FROM audit_events WHERE type = 'container.created' AND subject = ANY($1)`,
              [created],
            )
          )[0].n,
        ) === created.length,
      60_000,
    );
    const [{ orphans }] = await query<{ orphans: string }>(
      `SELECT count(*) AS orphans FROM launch_requests r
        WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.type = 'policy.decision' AND e.subject = r.id::text)`,
    );
    const verify = await api(w, 'GET', '/audit/verify');
    console.log(
      `acknowledged ${acked.length}, created ${created.length}, answers ${JSON.stringify([...statuses])}, ` +
        `duplicates ${dupes}, requests without decision ${orphans}, verify ${JSON.stringify(verify.body)}`,
    );
    expect(acked.length).toBeGreaterThan(50);
    expect(created.length).toBeGreaterThan(5);
    expect(Number(dupes)).toBe(0);
    expect(Number(orphans)).toBe(0);
    expect(unexpected).toEqual([]);
    expect(verify.body).toMatchObject({ ok: true });
  });
});
