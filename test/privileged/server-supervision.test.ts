import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { AuditService } from '../../src/audit';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { RunningWarden, startWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { QueueName } from '../../src/platform/queue';
import { processesMentioning, startCli, waitHealthy } from '../utils/cli';
import { importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api } from '../utils/warden';

/**
 * Warden's own servers killed under it (issue 13, point 4). A Warden with no DATABASE_URL
 * and no REDIS_URL starts and supervises its embedded redis-server and PostgreSQL; the test
 * kills each with SIGKILL while launches (create → start) and audit events are in flight,
 * then counts: every acknowledged event stored, none twice, every launch request with its
 * decision event and every decision with its request, the chain verified, /health naming
 * the dead server and then ok, requests during the outage answered 503 within a second.
 * A second Warden, run as the CLI, gets SIGTERM with both servers dead and must exit within
 * its grace period.
 */
const CGROUP_PARENT = `warden-supervise-${process.pid}`;
/** "Within a second", plus what this shared 2-core host adds under the other suites' load. */
const ANSWER_MS = 1000;
const SLACK_MS = 500;
/** /health's probes give a hanging server 2 s (health.indicators.ts); a dead one fails at once. */
const HEALTH_MS = 2500;

interface Timed {
  status: number;
  ms: number;
  body: any;
}

async function timed(url: string, method: string, p: string, body?: unknown): Promise<Timed> {
  const t0 = Date.now();
  try {
    const r = await fetch(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, ms: Date.now() - t0, body: parsed };
  } catch (err) {
    return { status: 0, ms: Date.now() - t0, body: String(err) };
  }
}

describe('embedded servers killed under load: supervised, fail closed, nothing acknowledged lost', () => {
  let dataDir: string;
  let warden: RunningWarden;
  let url: string;
  /** Events whose record() resolved: acknowledged, so each must end up in the chain once. */
  const acked: string[] = [];
  /** Every create that answered 201: its launch request, decision and container.created must be stored. */
  const created: string[] = [];
  const started: string[] = [];
  const statuses = new Map<number, number>();

  const failures: Timed[] = [];
  const count = (t: Timed) => {
    statuses.set(t.status, (statuses.get(t.status) ?? 0) + 1);
    if (t.status >= 500 && t.status !== 503) failures.push(t);
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsup-'));
    const config = loadConfig({
      WARDEN_DATA_DIR: dataDir,
      WARDEN_PORT: '0',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_LOG_LEVEL: 'fatal',
      WARDEN_UP_WORKERS: 'inline',
      WARDEN_CGROUP_PARENT: CGROUP_PARENT,
      WARDEN_QUEUE_LOCK_MS: '3000',
      WARDEN_QUEUE_STALLED_CHECK_MS: '1000',
    });
    warden = await startWarden('up', config, pino({ level: 'fatal' }));
    url = warden.url!;
    expect(warden.infra.embedded.sort()).toEqual(['postgres', 'redis']);
    await importBusybox({ url });
    // The first /health runs the host probes (a few seconds); later ones reuse the verdict.
    await eventually(
      '/health ok before the kills',
      async () => (await timed(url, 'GET', '/health')).status === 200,
      30_000,
    );
  });

  afterAll(async () => {
    await warden?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = new Client({ connectionString: warden.infra.databaseUrl });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as R[];
    } finally {
      await c.end();
    }
  }

  /**
   * Load while `kill` runs: 6 launchers (create → start of /bin/true) and 10 audit writers,
   * for `ms`. Returns the answers given while the server was down.
   */
  async function underLoad(name: 'redis' | 'postgres', ms: number) {
    const stopAt = Date.now() + ms;
    const duringOutage: Timed[] = [];
    let down = false;
    const launcher = async () => {
      while (Date.now() < stopAt) {
        const wasDown = down;
        const c = await timed(url, 'POST', '/containers', { image: 'busybox:1.35', cmd: ['true'] });
        count(c);
        if (wasDown && down) duringOutage.push(c);
        if (c.status !== 201) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        created.push(c.body.id);
        const s = await timed(url, 'POST', `/containers/${c.body.id}/start`);
        count(s);
        if (wasDown && down) duringOutage.push(s);
        if (s.status === 200) started.push(c.body.id);
      }
    };
    const audit = warden.app.get(AuditService);
    let n = 0;
    const writer = async () => {
      while (Date.now() < stopAt) {
        try {
          const e = await audit.record({
            type: 'api.call',
            principal: 'supervision-test',
            source: { via: 'system' },
            payload: { n: n++, during: name },
          });
          acked.push(e.id);
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const health: Array<{ status: number; ms: number; down: string[] }> = [];
    const watcher = async () => {
      while (Date.now() < stopAt + 30_000) {
        const h = await timed(url, 'GET', '/health');
        const names = Object.entries((h.body?.error ?? {}) as Record<string, { status: string }>)
          .filter(([, v]) => v.status === 'down')
          .map(([k]) => k);
        health.push({ status: h.status, ms: h.ms, down: names });
        if (health.some((x) => x.status === 503) && h.status === 200 && Date.now() > stopAt) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const killer = async () => {
      // Launches and batches in flight first.
      await new Promise((r) => setTimeout(r, 1500));
      // Killed again each time it comes back, for 2.5 s: an outage long enough to be seen,
      // and the supervisor's backoff exercised (a server that keeps dying).
      const killed: number[] = [];
      down = true;
      for (const until = Date.now() + 2500; Date.now() < until;) {
        const s = warden.infra.servers().find((x) => x.name === name)!;
        if (s.up && s.pid && !killed.includes(s.pid)) {
          process.kill(s.pid, 'SIGKILL');
          killed.push(s.pid);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await eventually(
        `${name} restarted`,
        async () => {
          const s = warden.infra.servers().find((x) => x.name === name)!;
          return s.up && !killed.includes(s.pid!);
        },
        60_000,
      );
      // Until clients have reconnected, answers still count as "during the outage".
      await eventually(
        `/health ok after ${name} came back`,
        async () => (await timed(url, 'GET', '/health')).status === 200,
        30_000,
      );
      down = false;
      return killed;
    };
    // Creates only: short requests, so some start and end inside even a short outage.
    const prober = async () => {
      while (Date.now() < stopAt) {
        const wasDown = down;
        const c = await timed(url, 'POST', '/containers', { image: 'busybox:1.35', cmd: ['true'] });
        count(c);
        if (wasDown && down) duringOutage.push(c);
        if (c.status === 201) created.push(c.body.id);
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    const [killed] = await Promise.all([
      killer(),
      ...Array.from({ length: 2 }, prober),
      ...Array.from({ length: 4 }, launcher),
      ...Array.from({ length: 10 }, writer),
      watcher(),
    ]);
    return { duringOutage, health, killed };
  }

  function report(name: string, r: Awaited<ReturnType<typeof underLoad>>) {
    const codes = new Map<number, number>();
    for (const a of r.duringOutage) codes.set(a.status, (codes.get(a.status) ?? 0) + 1);
    const slowest = Math.max(0, ...r.duringOutage.map((a) => a.ms));
    const healthSlowest = Math.max(0, ...r.health.map((h) => h.ms));
    console.log(
      `${name} killed ${r.killed.length}x: during the outage ${r.duringOutage.length} answers ${JSON.stringify([...codes])}, slowest ${slowest} ms; ` +
        `/health polled ${r.health.length}x, slowest ${healthSlowest} ms, named down: ${[
          ...new Set(r.health.flatMap((h) => h.down)),
        ].join(',')}`,
    );
    return { codes, slowest, healthSlowest };
  }

  it('redis-server killed -9 mid-launch: restarted, 503s within a second, /health names it then ok', async () => {
    const r = await underLoad('redis', 6000);
    const { codes, slowest, healthSlowest } = report('redis-server', r);
    expect(warden.infra.servers().find((s) => s.name === 'redis')!.restarts).toBe(r.killed.length);
    // /health named redis while it was down, then went back to ok.
    expect(r.health.some((h) => h.status === 503 && h.down.includes('redis'))).toBe(true);
    expect(r.health[r.health.length - 1].status).toBe(200);
    expect(healthSlowest).toBeLessThan(HEALTH_MS);
    // Every answer during the outage: a success from before the kill, or 503 with the reason.
    expect(codes.get(503) ?? 0).toBeGreaterThan(0);
    for (const a of r.duringOutage) {
      expect([200, 201, 503]).toContain(a.status);
      if (a.status === 503) expect(a.body.code).toMatch(/REDIS_UNAVAILABLE|DATABASE_UNAVAILABLE|UNAVAILABLE/);
    }
    expect(slowest).toBeLessThan(ANSWER_MS + SLACK_MS);
  });

  it('PostgreSQL killed -9 mid-launch: restarted, 503s within a second, /health names it then ok', async () => {
    const r = await underLoad('postgres', 6000);
    const { codes, slowest, healthSlowest } = report('PostgreSQL', r);
    expect(warden.infra.servers().find((s) => s.name === 'postgres')!.restarts).toBe(r.killed.length);
    expect(r.health.some((h) => h.status === 503 && h.down.includes('database'))).toBe(true);
    expect(r.health[r.health.length - 1].status).toBe(200);
    expect(healthSlowest).toBeLessThan(HEALTH_MS);
    expect(codes.get(503) ?? 0).toBeGreaterThan(0);
    for (const a of r.duringOutage) {
      expect([200, 201, 503]).toContain(a.status);
    }
    expect(slowest).toBeLessThan(ANSWER_MS + SLACK_MS);
  });

  it('counts: 0 acknowledged events lost or duplicated, every launch request with its decision, chain ok', async () => {
    // Everything acknowledged reaches the chain once the worker has retried what failed.
    let missing: string[] = [];
    await eventually(
      'every acknowledged event in the chain',
      async () => {
        const rows = await query<{ id: string }>(
          `SELECT id::text FROM audit_events WHERE id = ANY($1::uuid[])`,
          [acked],
        );
        const have = new Set(rows.map((r) => r.id));
        missing = acked.filter((id) => !have.has(id));
        return missing.length === 0;
      },
      90_000,
    ).catch(async (err: Error) => {
      const queue = warden.app.get<Queue>(getQueueToken(QueueName.Audit));
      const states = await Promise.all(
        missing.slice(0, 10).map(async (id) => {
          const job = await queue.getJob(id);
          return `${id}: ${job ? `${await job.getState()} attempts ${job.attemptsMade} ${job.failedReason ?? ''}` : 'no job'}`;
        }),
      );
      throw new Error(`${err.message}: ${missing.length} of ${acked.length} missing\n${states.join('\n')}`);
    });
    const [{ dupes }] = await query<{ dupes: string }>(
      `SELECT count(*) AS dupes FROM (SELECT id FROM audit_events GROUP BY id HAVING count(*) > 1) d`,
    );
    // The same fact recorded twice under two ids would also be a duplicate.
    const [{ twice }] = await query<{ twice: string }>(
      `SELECT count(*) AS twice FROM (SELECT type, subject FROM audit_events
        WHERE type IN ('policy.decision', 'container.created', 'container.started') GROUP BY type, subject HAVING count(*) > 1) d`,
    );
    await eventually(
      'every created container recorded',
      async () => {
        const rows = await query<{ n: string }>(
          `SELECT count(*) AS n FROM audit_events WHERE type = 'container.created' AND subject = ANY($1)`,
          [created],
        );
        return Number(rows[0].n) === created.length;
      },
      60_000,
    );
    const [{ requestsWithoutDecision }] = await query<{ requestsWithoutDecision: string }>(
      `SELECT count(*) AS "requestsWithoutDecision" FROM launch_requests r
        WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.type = 'policy.decision' AND e.subject = r.id::text)`,
    );
    const [{ decisionsWithoutRequest }] = await query<{ decisionsWithoutRequest: string }>(
      `SELECT count(*) AS "decisionsWithoutRequest" FROM audit_events e WHERE e.type = 'policy.decision'
        AND NOT EXISTS (SELECT 1 FROM launch_requests r WHERE r.id::text = e.subject)`,
    );
    const [{ launchRequests }] = await query<{ launchRequests: string }>(
      `SELECT count(*) AS "launchRequests" FROM launch_requests`,
    );
    const [{ startedStored }] = await query<{ startedStored: string }>(
      `SELECT count(*) AS "startedStored" FROM audit_events WHERE type = 'container.started' AND subject = ANY($1)`,
      [started],
    );
    const verify = await api({ url }, 'GET', '/audit/verify');
    console.log(
      `acknowledged events ${acked.length}, creates 201 ${created.length}, starts 200 ${started.length}, ` +
        `launch requests ${launchRequests}; answers ${JSON.stringify([...statuses])}; duplicates ${dupes}+${twice}, ` +
        `requests without decision ${requestsWithoutDecision}, decisions without request ${decisionsWithoutRequest}, ` +
        `started events ${startedStored}/${started.length}, verify ${JSON.stringify(verify.body)}`,
    );
    expect(acked.length).toBeGreaterThan(100);
    expect(created.length).toBeGreaterThan(5);
    expect(Number(dupes)).toBe(0);
    expect(Number(twice)).toBe(0);
    expect(Number(requestsWithoutDecision)).toBe(0);
    expect(Number(decisionsWithoutRequest)).toBe(0);
    expect(Number(launchRequests)).toBeGreaterThanOrEqual(created.length);
    expect(Number(startedStored)).toBe(started.length);
    expect(failures.map((f) => JSON.stringify(f.body))).toEqual([]);
    expect(statuses.get(0) ?? 0).toBe(0); // no request left without an answer
    expect(verify.body).toMatchObject({ ok: true });
  });

  it('SIGTERM with both servers dead: `warden up` exits within its grace period, leaving no server behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsup-cli-'));
    const port = 20000 + (process.pid % 20000);
    const cli = startCli(['up'], {
      WARDEN_DATA_DIR: dir,
      WARDEN_PORT: String(port),
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_CGROUP_PARENT: `${CGROUP_PARENT}-cli`,
      WARDEN_SHUTDOWN_GRACE: '8',
    });
    try {
      await waitHealthy(`http://127.0.0.1:${port}`, cli);
      const h = await timed(`http://127.0.0.1:${port}`, 'GET', '/health');
      const pids = [Number(fs.readFileSync(path.join(dir, 'redis', 'redis.pid'), 'utf8'))];
      pids.push(
        Number(fs.readFileSync(path.join(dir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]),
      );
      expect(h.status).toBe(200);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const t0 = Date.now();
      cli.child.kill('SIGTERM');
      const code = await cli.exit;
      const took = Date.now() - t0;
      console.log(`SIGTERM with both servers dead: exited ${code} after ${took} ms (grace 8 s)`);
      expect(took).toBeLessThan(8000 + 3000);
      await eventually('no server left behind', async () => processesMentioning(dir).length === 0, 10_000);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
