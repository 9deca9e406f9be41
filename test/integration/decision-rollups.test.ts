import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { MIGRATIONS } from '../../migrations';
import { AuditEventRepository, AuditService, type AuditEvent } from '../../src/audit';
import { startWarden, type RunningWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { createDataSource, migrate } from '../../src/platform/database';
import { PolicyService } from '../../src/policy';
import { removeDataDir } from '../utils/data-dir';
import { eventually, freshDatabase, freshRedis, sql } from '../utils/services';
import { api, testWardenEnv } from '../utils/warden';

/**
 * The overview reads per-day and per-hour rollups of decisions for whole days and hours (issue 19). They must say
 * exactly what the trail says: here the rollup tables are compared with the trail's rows
 * grouped in this file, and every overview figure with the same figures computed here from
 * the raw rows, for windows with ragged and exact-hour edges and for admins and deployers —
 * after the migration's backfill of a trail written before the rollups, after decisions
 * committed by the audit worker, and after a restart.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const floorHour = (t: number) => Math.floor(t / HOUR) * HOUR;
const floorDay = (t: number) => Math.floor(t / DAY) * DAY;

interface RawDecision {
  at: number;
  decision: string | null;
  principal: string;
  teams: string[];
  image: string | null;
  reasons: unknown;
}

type Teams = Record<string, string[]>;
/** The principals the events name; each with a launch request recording these teams (none: no request). */
const TEAMS: Teams = { alice: ['payments'], carol: ['payments', 'search'], bob: ['search'], dave: [] };
const DECISIONS = ['allowed', 'denied', 'would-deny', 'interrupted'] as const;
const REASONS = [
  [],
  [{ rule: 'privileged.allow', message: 'privileged' }],
  [{ rule: 'resources.memory.max' }, { rule: 'privileged.allow' }],
  [{ rule: 'capabilities.allowAdd' }, { rule: 'capabilities.allowAdd' }],
  [{ message: 'a reason without a rule' }],
];

/** A deterministic mix: principals with and without launch requests, images or not, odd payloads. */
function decisionEvents(count: number, seed: number, spanMs: number, now: number) {
  const requests: Array<{ id: string; principal: string; teams: string[] }> = [];
  const events: AuditEvent[] = [];
  let x = seed;
  const next = (m: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % m);
  for (let i = 0; i < count; i++) {
    const principal = ['alice', 'carol', 'bob', 'dave', 'puller'][next(5)];
    const decision = DECISIONS[next(4)];
    const reasons = decision === 'allowed' ? [] : REASONS[next(REASONS.length)];
    const image = next(6) === 0 ? undefined : `${principal}/app:${next(3)}`;
    let launchRequestId: string | undefined;
    // A payload no launch request could have: counted, without a team, and never fails the append.
    if (i % 97 === 13) launchRequestId = 'not-a-uuid';
    else if (principal !== 'puller') {
      launchRequestId = randomUUID();
      requests.push({ id: launchRequestId, principal, teams: TEAMS[principal] });
    }
    events.push({
      id: randomUUID(),
      type: 'policy.decision',
      occurredAt: new Date(now - next(spanMs)).toISOString(),
      principal,
      source: { via: 'cli' },
      subject: launchRequestId ?? image ?? 'volume',
      decision,
      payload: {
        action: 'launch',
        image,
        launchRequestId,
        decision: { allowed: decision === 'allowed', reasons },
      },
    });
  }
  return { requests, events };
}

async function insertRequests(url: string, rs: Array<{ id: string; principal: string; teams: string[] }>) {
  await sql(
    url,
    `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, created_at)
     SELECT id, principal, ARRAY(SELECT jsonb_array_elements_text(teams)), '{}', '{}', '{}', now()
       FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS t(id, principal, teams)`,
    [rs.map((r) => r.id), rs.map((r) => r.principal), rs.map((r) => JSON.stringify(r.teams))],
  );
}

/** The trail's decisions, joined to their requests by text (not as the rollups are). */
async function rawDecisions(url: string): Promise<RawDecision[]> {
  const rows = await sql<{
    occurred_at: Date;
    decision: string | null;
    principal: string;
    teams: string[] | null;
    payload: { image?: string; decision?: { reasons?: unknown } };
  }>(
    url,
    `SELECT e.occurred_at, e.decision, e.principal, lr.principal_teams AS teams, e.payload
       FROM audit_events e LEFT JOIN launch_requests lr ON lr.id::text = e.payload->>'launchRequestId'
      WHERE e.type = 'policy.decision'`,
  );
  return rows.map((r) => ({
    at: r.occurred_at.getTime(),
    decision: r.decision,
    principal: r.principal,
    teams: r.teams ?? [],
    image: r.payload.image ?? null,
    reasons: r.payload.decision?.reasons,
  }));
}

const tally = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

/** The rollup tables against the trail grouped by hour and by day, decision, principal, teams and image or rule. */
async function expectTablesAgree(url: string): Promise<number> {
  const raw = await rawDecisions(url);
  const decisions = new Map<string, number>();
  const rules = new Map<string, number>();
  for (const d of raw) {
    for (const [span, start] of [
      ['hour', floorHour(d.at)],
      ['day', floorDay(d.at)],
    ] as const) {
      const key = [span, new Date(start).toISOString(), d.decision, d.principal, d.teams.join(',')];
      tally(decisions, JSON.stringify([...key, d.image]));
      for (const r of Array.isArray(d.reasons) ? (d.reasons as Array<{ rule?: string }>) : [])
        tally(rules, JSON.stringify([...key, r.rule ?? null]));
    }
  }
  const table = async (q: string) =>
    new Map((await sql<{ k: unknown[]; n: string }>(url, q)).map((r) => [JSON.stringify(r.k), Number(r.n)]));
  const key = `span, to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"'), decision, principal, array_to_string(teams, ',')`;
  expect(
    await table(`SELECT json_build_array(${key}, image) AS k, decisions AS n FROM decision_rollups`),
  ).toEqual(decisions);
  expect(
    await table(`SELECT json_build_array(${key}, rule) AS k, hits AS n FROM decision_rule_rollups`),
  ).toEqual(rules);
  return raw.length;
}

type Scope = { all: true } | { principal: string; teams: string[] };

/** What the overview must say, computed from the raw rows. */
function expectedOverview(raw: RawDecision[], from: number, to: number, bucketSeconds: number, scope: Scope) {
  const bucket = bucketSeconds * 1000;
  const origin = bucket % DAY === 0 ? floorDay(from) : bucket % HOUR === 0 ? floorHour(from) : from;
  const bars = Array.from({ length: Math.ceil((to - origin) / bucket) }, (_, i) => ({
    start: new Date(Math.max(origin + i * bucket, from)).toISOString(),
    allowed: 0,
    denied: 0,
    wouldDeny: 0,
  }));
  const rules = new Map<string, { denied: number; wouldDeny: number }>();
  const teams = new Map<string, number>();
  const images = new Map<string, number>();
  const mine = (d: RawDecision) =>
    'all' in scope || d.principal === scope.principal || d.teams.some((t) => scope.teams.includes(t));
  for (const d of raw) {
    if (d.at < from || d.at >= to) continue;
    const denied = d.decision === 'denied';
    if (denied) for (const t of d.teams) if ('all' in scope || scope.teams.includes(t)) tally(teams, t);
    if (!mine(d)) continue;
    const bar = bars[Math.floor((d.at - origin) / bucket)];
    if (d.decision === 'allowed') bar.allowed++;
    if (denied) bar.denied++;
    if (d.decision === 'would-deny') bar.wouldDeny++;
    if (denied) tally(images, String(d.image));
    if (denied || d.decision === 'would-deny')
      for (const r of Array.isArray(d.reasons) ? (d.reasons as Array<{ rule?: string }>) : []) {
        const k = String(r.rule ?? null);
        const c = rules.get(k) ?? { denied: 0, wouldDeny: 0 };
        rules.set(k, denied ? { ...c, denied: c.denied + 1 } : { ...c, wouldDeny: c.wouldDeny + 1 });
      }
  }
  return {
    bars,
    rules: Object.fromEntries(rules),
    teams: Object.fromEntries(teams),
    images: Object.fromEntries(images),
  };
}

describe('decision rollups agree with the trail', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let redis: Awaited<ReturnType<typeof freshRedis>>;
  let dataDir: string;
  let w: RunningWarden & { url: string };
  const tokens: Record<string, string> = {};
  const start = async () => {
    const config = loadConfig({
      ...testWardenEnv(dataDir, db.url, redis.url),
      WARDEN_CGROUP_PARENT: `warden-rollups-${process.pid}`,
    });
    const running = await startWarden('up', config, pino({ level: 'error' }));
    w = { ...running, url: running.url ?? '' };
  };

  beforeAll(async () => {
    [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-rollups-'));
  });
  afterAll(async () => {
    await w?.stop();
    await redis?.stop();
    await db?.drop();
    if (dataDir) removeDataDir(dataDir);
  });

  /** Every window and scope: the overview against the raw rows, figure by figure. */
  async function expectOverviewsAgree(): Promise<void> {
    const raw = await rawDecisions(db.url);
    const now = Date.now();
    const h = floorHour(now);
    const windows: Array<[number, number] | undefined> = [
      undefined, // the page's default: the last 24 hours, in 30-minute bars
      [now - 3 * 864e5 + 7 * 60_000 + 13_000, now + 60_000], // ragged edges, 3-hour bars
      [h - 30 * HOUR, h - 2 * HOUR], // whole hours only
      [h - 5 * HOUR + 600_000, h - 5 * HOUR + 2_400_000], // inside one hour
      [now - 26 * HOUR - 23 * 60_000, now - HOUR + 11 * 60_000], // 30-minute bars, rollups for the rest
      [now - 30 * 864e5, now], // the 30-day page: day bars, whole days from the daily rollups
      [floorDay(now) - DAY - 5 * HOUR + 61_000, now - 2 * HOUR], // a whole day (from 02:00 UTC on), whole hours, hour bars
    ];
    for (const [who, scope] of [
      ['admin', { all: true }],
      ['alice', { principal: 'alice', teams: ['payments'] }],
      ['bob', { principal: 'bob', teams: ['search'] }],
      ['dave', { principal: 'dave', teams: [] }],
    ] as Array<[string, Scope]>)
      for (const win of windows) {
        const q = win ? `?from=${new Date(win[0]).toISOString()}&to=${new Date(win[1]).toISOString()}` : '';
        const r = await api(w, 'GET', `/console/overview${q}`, {
          token: who === 'admin' ? undefined : tokens[who],
        });
        expect(r.status).toBe(200);
        const o = r.body;
        const exp = expectedOverview(
          raw,
          Date.parse(o.window.from),
          Date.parse(o.window.to),
          o.window.bucketSeconds,
          scope,
        );
        // Fewer than ten of each, so the top lists are whole and compare as maps.
        for (const m of [exp.rules, exp.teams, exp.images]) expect(Object.keys(m).length).toBeLessThan(10);
        const got = {
          bars: o.decisions.buckets,
          rules: Object.fromEntries(
            o.topRules.map((x: { rule: string | null; denied: number; wouldDeny: number }) => [
              String(x.rule),
              { denied: x.denied, wouldDeny: x.wouldDeny },
            ]),
          ),
          teams: Object.fromEntries(
            o.topTeams.map((x: { team: string; denied: number }) => [x.team, x.denied]),
          ),
          images: Object.fromEntries(
            o.topImages.map((x: { image: string | null; denied: number }) => [String(x.image), x.denied]),
          ),
        };
        expect({ who, q, ...got }).toEqual({ who, q, ...exp });
      }
  }

  it('after the backfill of a trail written before the rollups existed', async () => {
    const ours = MIGRATIONS.findIndex((m) => new m().name === 'CreateDecisionRollups1796314000000');
    await migrate(db.url, 'up');
    await migrate(db.url, 'down', MIGRATIONS.length - ours);
    const ds = createDataSource(db.url);
    await ds.initialize();
    try {
      const { requests, events } = decisionEvents(400, 19, 40 * HOUR, Date.now());
      await insertRequests(db.url, requests);
      const repo = new AuditEventRepository(ds);
      for (let i = 0; i < events.length; i += 50) await repo.append(events.slice(i, i + 50));
    } finally {
      await ds.destroy();
    }
    await start(); // migrates: the backfill
    for (const [id, teams] of Object.entries(TEAMS)) {
      expect((await api(w, 'POST', '/principals', { body: { id, role: 'deployer', teams } })).status).toBe(
        201,
      );
      tokens[id] = (
        await api(w, 'POST', '/tokens', { body: { principalId: id, name: 'rollups' } })
      ).body.token;
    }
    expect(await expectTablesAgree(db.url)).toBe(400);
    await expectOverviewsAgree();
  });

  /** Decisions through the queue and the audit worker; then everything is compared. */
  async function addAndCompare(add: ReturnType<typeof decisionEvents>, total: number): Promise<void> {
    await insertRequests(db.url, add.requests);
    await w.app.get(AuditService).enqueueAll(add.events);
    await eventually(`${total} decisions committed`, async () => {
      const [{ c }] = await sql<{ c: number }>(
        db.url,
        `SELECT count(*)::int AS c FROM audit_events WHERE type = 'policy.decision'`,
      );
      return c === total;
    });
    expect(await expectTablesAgree(db.url)).toBe(total);
    await expectOverviewsAgree();
  }

  it('after decisions committed by the audit worker, and after a restart', async () => {
    // Decisions as Warden makes them (launch request, then the event through the queue), then
    // late events for past hours, which add to hours already rolled up.
    const policies = w.app.get(PolicyService);
    const alice = {
      principal: { id: 'alice', role: 'deployer' as const, teams: ['payments'] },
      source: { via: 'cli' as const },
    };
    await policies.decide(alice, { image: 'payments/api:1.0', privileged: true });
    await policies.decide(alice, { image: 'payments/worker:2', memory: '256m' });
    await addAndCompare(decisionEvents(150, 7, 30 * HOUR, Date.now()), 552);

    await w.stop();
    await start();
    await addAndCompare(decisionEvents(100, 3, 10 * HOUR, Date.now()), 652);
  });
});
