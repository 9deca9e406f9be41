import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { AuditEventRepository, AuditService } from '../../src/audit';
import { ReportsService } from '../../src/audit/reports/reports.service';
import type { AuditEvent } from '../../src/audit';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Reports can't stall the trail (issue 13, point 6): one report with a 1 MiB label held audit
 * commits back for more than 13 minutes, because its PDF rendered on the event loop that
 * commits them. Here the API, the audit worker and the reports worker share one event loop
 * (`up`, workers inline: the hardest case), and events recorded while a large report is
 * generated must be committed before it is done, each within a generous bound.
 */
describe('reports and the audit trail', () => {
  const ROWS = 30_000;
  const LABEL_KEY = `note-${'k'.repeat(40)}`;
  const LABEL_VALUE = 'v'.repeat(512 - LABEL_KEY.length - 1);
  const LABEL = `${LABEL_KEY}=${LABEL_VALUE}`; // the longest the API accepts
  let w: TestWarden;
  let db: Pool;
  const base = Date.now() - 3600_000;
  const window = {
    from: new Date(base - 1000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
  };

  const decision = (i: number): AuditEvent => ({
    id: randomUUID(),
    occurredAt: new Date(base + i).toISOString(),
    type: 'policy.decision',
    principal: `user-${i % 50}`,
    source: { via: 'http', ip: '127.0.0.1' },
    subject: randomUUID(),
    decision: 'allowed',
    policyHash: 'a'.repeat(64),
    payload: {
      action: 'launch',
      image: `corp.io/team-${i % 9}/app:1.${i % 13}`,
      spec: { labels: { owner: `team-${i % 9}`, [LABEL_KEY]: LABEL_VALUE }, image: { registry: 'corp.io' } },
      decision: {
        allowed: true,
        mode: 'enforce',
        policy: 'prod',
        policyVersion: 'a'.repeat(64),
        reasons: [],
        waived: [],
      },
    },
  });

  beforeAll(async () => {
    w = await startTestWarden('up');
    db = new Pool({ connectionString: w.databaseUrl, max: 4 });
    const repo = w.app.get(AuditEventRepository);
    for (let i = 0; i < ROWS; i += 2000)
      await repo.append(Array.from({ length: 2000 }, (_, j) => decision(i + j)));
  });
  afterAll(async () => {
    await db?.end();
    await w?.close();
  });

  it('refuses report inputs beyond their limits with a 400 that says which', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ label: `k=${'x'.repeat(1 << 20)}` }, /body\.label: must be at most 512 characters/],
      [{ label: `k=${'x'.repeat(511)}` }, /body\.label: must be at most 512 characters/],
      [{ team: 't'.repeat(129) }, /body\.team: must be at most 128 characters/],
      [{ team: 'red\u0000' }, /body\.team: must not contain a NUL byte/],
      [
        { from: '2024-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z' },
        /window is 517 days; a report covers at most 366/,
      ],
    ];
    for (const [body, message] of cases) {
      const r = await api(w, 'POST', '/reports', { body: { ...window, ...body } });
      expect({ status: r.status, message: r.body.message }).toEqual({
        status: 400,
        message: expect.stringMatching(message),
      });
    }
    const { rows } = await db.query('SELECT count(*)::int AS n FROM reports');
    expect(rows[0].n).toBe(0); // nothing queued
  });

  /**
   * Records one event every 100 ms from the report's request until it is done, and when each
   * was committed; the report's final state, and when it was seen running and done.
   */
  async function probeWhileGenerating(reportId: string) {
    const audit = w.app.get(AuditService);
    let runningAt = 0;
    let doneAt = 0;
    let final: any;
    const status = (async () => {
      for (;;) {
        const r = await api(w, 'GET', `/reports/${reportId}`);
        if (r.body.status === 'running' && !runningAt) runningAt = Date.now();
        if (r.body.status === 'done' || r.body.status === 'failed') {
          doneAt = Date.now();
          final = r.body;
          return;
        }
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    const probes: Array<{ recordedAt: number; committedAt: number }> = [];
    const committed = async (id: string) => {
      for (;;) {
        if ((await db.query('SELECT 1 FROM audit_events WHERE id = $1', [id])).rowCount) return Date.now();
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    const pending: Array<Promise<void>> = [];
    while (!doneAt) {
      const recordedAt = Date.now();
      const e = await audit.record({
        type: 'api.call',
        principal: 'probe',
        source: { via: 'system' },
        payload: {},
      });
      pending.push(committed(e.id).then((committedAt) => void probes.push({ recordedAt, committedAt })));
      await new Promise((res) => setTimeout(res, 100));
    }
    await status;
    await Promise.all(pending);
    return {
      final,
      runningAt,
      // Overlap: events recorded after the report began running, committed before it was done.
      during: probes.filter((p) => p.recordedAt >= runningAt && p.committedAt < doneAt).length,
      worstMs: Math.max(...probes.map((p) => p.committedAt - p.recordedAt)),
    };
  }

  it('commits audit events promptly while a report over many rows renders', async () => {
    const req = await api(w, 'POST', '/reports', { body: { ...window, label: LABEL } });
    expect(req.status).toBe(201);
    const run = await probeWhileGenerating(req.body.id);

    expect(run.final.status).toBe('done');
    expect(run.final.files.map((f: { name: string }) => f.name)).toContain('report.pdf');
    const json = await api(w, 'GET', `/reports/${req.body.id}/files/report.json`);
    expect(json.body.population.launches).toBe(ROWS);
    expect(json.body.params.label).toBe(LABEL);

    expect(run.runningAt).toBeGreaterThan(0);
    expect(run.during).toBeGreaterThanOrEqual(3);
    // Generous on two shared cores: the failure this guards against took minutes.
    expect(run.worstMs).toBeLessThan(5000);
  });

  it('generates a report queued with a 1 MiB label (from before the limits) without holding commits', async () => {
    // The service, not the API: as a job queued before the limits existed comes back after an upgrade.
    const caller = { principal: { id: 'admin', role: 'admin', teams: [] }, source: { via: 'system' } } as any;
    const { id } = await w.app
      .get(ReportsService)
      .request(caller, { ...window, label: `k=${'x'.repeat(1 << 20)}` });
    const run = await probeWhileGenerating(id);
    expect(run.final.status).toBe('done');
    const pdf = await api(w, 'GET', `/reports/${id}/files/report.pdf`);
    expect(pdf.status).toBe(200);
    expect(run.during).toBeGreaterThanOrEqual(1);
    expect(run.worstMs).toBeLessThan(5000);
  });
});
