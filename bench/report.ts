/**
 * bench/report — does generating a compliance report stall the audit trail or the API?
 * `bash bench/run.sh report` (after `npm run build`: `up`'s worker process runs dist/)
 *
 * Seeds 100k policy-decision events into the chain (through the same repository the audit
 * workers use), every one carrying a long label, then alternates two phases, ROUNDS times:
 *
 *   anchor  no report: audit events are recorded and API calls made at a steady pace
 *   report  the same, while a report over all 100k rows, filtered by that long label, renders
 *
 * Audit commit latency is the time from AuditService.record (the API's enqueue) until the
 * row is in PostgreSQL (polled every 5 ms on a connection of the bench's own). API latency is
 * GET /audit/events?limit=1, a real route through auth, validation and Postgres. Issue 13
 * measured one report with a 1 MiB label holding audit commits back for more than 13 minutes;
 * the target is a commit p99 of at most 1 s while a report renders. /proc/loadavg is printed
 * for every phase, since this host's two cores are shared.
 *
 * BENCH_REPORT_ROWS (100000), BENCH_REPORT_ROUNDS (3), BENCH_REPORT_WORKERS (process: `up`'s
 * workers in their own process, the default deployment; inline: everything on one loop).
 */
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { AuditEventRepository, AuditService } from '../src/audit';
import type { AuditEvent } from '../src/audit';
import { percentile, startBenchWarden } from './lib/bench-warden';

const ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_REPORT_ROUNDS ?? 3);
const WORKERS = process.env.BENCH_REPORT_WORKERS === 'inline' ? 'inline' : 'process';
/** A label the API accepts at its longest (REPORT_LIMITS.labelChars = 512), on every seeded launch. */
const LABEL_KEY = `note-${'k'.repeat(40)}`;
const LABEL_VALUE = 'v'.repeat(512 - LABEL_KEY.length - 1);
const LABEL = `${LABEL_KEY}=${LABEL_VALUE}`;
const ANCHOR_MS = 8000;

function decision(i: number, at: Date): AuditEvent {
  const denied = i % 7 === 0;
  const reasons = denied
    ? [
        {
          rule: 'resources.memory.max',
          message: `memory 9g exceeds cap 2g (policy prod, rule resources.memory.max)`,
          detail: {},
        },
      ]
    : [];
  return {
    id: randomUUID(),
    occurredAt: at.toISOString(),
    type: 'policy.decision',
    principal: `user-${i % 50}`,
    source: { via: 'http', ip: '127.0.0.1' },
    subject: randomUUID(),
    decision: denied ? 'denied' : 'allowed',
    policyHash: 'a'.repeat(64),
    payload: {
      action: i % 10 === 0 ? 'pull' : 'launch',
      image: `corp.io/team-${i % 9}/app:1.${i % 13}`,
      spec: {
        labels: { owner: `team-${i % 9}`, [LABEL_KEY]: LABEL_VALUE },
        image: { registry: 'corp.io' },
        memoryBytes: 512 * 2 ** 20,
      },
      decision: {
        allowed: !denied,
        mode: 'enforce',
        policy: 'prod',
        policyVersion: 'a'.repeat(64),
        reasons,
        waived: [],
      },
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `probe` at a steady pace until `until()`, at least `minMs`; the latencies, sorted. */
async function paced(probe: () => Promise<number>, until: () => boolean, minMs: number, gapMs: number) {
  const out: number[] = [];
  const start = Date.now();
  while (Date.now() - start < minMs || !until()) {
    out.push(await probe());
    await sleep(gapMs);
  }
  return out.sort((a, b) => a - b);
}

function loadavg(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

interface Phase {
  kind: 'anchor' | 'report';
  round: number;
  commit: number[];
  api: number[];
  loadBefore: string;
  loadAfter: string;
  seconds: number;
  note: string;
}

async function main(): Promise<void> {
  const b = await startBenchWarden({ WARDEN_UP_WORKERS: WORKERS });
  const db = new Pool({ connectionString: b.warden.infra.databaseUrl, max: 1 });
  try {
    const repo = b.warden.app.get(AuditEventRepository);
    const audit = b.warden.app.get(AuditService);
    const t0 = Date.now();
    const base = Date.now() - 24 * 3600_000;
    for (let i = 0; i < ROWS; i += 2000) {
      await repo.append(
        Array.from({ length: Math.min(2000, ROWS - i) }, (_, j) =>
          decision(i + j, new Date(base + ((i + j) * 24 * 3600_000) / ROWS)),
        ),
      );
    }
    const seedS = (Date.now() - t0) / 1000;

    // Record one event, then poll until it is committed: enqueue to row, in ms.
    const commitProbe = async () => {
      const t = process.hrtime.bigint();
      const e = await audit.record({
        type: 'api.call',
        principal: 'bench',
        source: { via: 'system' },
        payload: { action: 'bench.probe' },
      });
      for (;;) {
        const r = await db.query('SELECT 1 FROM audit_events WHERE id = $1', [e.id]);
        if (r.rowCount) break;
        await sleep(5);
      }
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const apiProbe = async () => {
      const t = process.hrtime.bigint();
      const r = await b.call('GET', '/audit/events?limit=1');
      if (r.status !== 200) throw new Error(`probe: ${r.status}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const both = (until: () => boolean, minMs: number) =>
      Promise.all([paced(commitProbe, until, minMs, 50), paced(apiProbe, until, minMs, 5)]);

    // Too long a label is refused before anything is queued.
    const tooLong = await b.call('POST', '/reports', {
      from: new Date(base - 1000).toISOString(),
      to: new Date().toISOString(),
      label: `k=${'x'.repeat(1 << 20)}`,
    });

    const phases: Phase[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['anchor', 'report'] as const) {
        const loadBefore = loadavg();
        const started = Date.now();
        let note = '';
        let commit: number[];
        let api: number[];
        if (kind === 'anchor') {
          [commit, api] = await both(() => true, ANCHOR_MS);
        } else {
          let done = false;
          const req = await b.call('POST', '/reports', {
            from: new Date(base - 1000).toISOString(),
            to: new Date().toISOString(),
            label: LABEL,
          });
          if (req.status !== 201)
            throw new Error(`report request: ${req.status} ${JSON.stringify(req.body)}`);
          const poll = (async () => {
            for (;;) {
              const r = await b.call('GET', `/reports/${req.body.id}`);
              if (r.body.status === 'done' || r.body.status === 'failed') {
                done = true;
                return r.body;
              }
              await sleep(100);
            }
          })();
          [commit, api] = await both(() => done, 0);
          const result = await poll;
          if (result.status !== 'done') throw new Error(`report ${result.status}: ${result.error}`);
          note = `${((Date.now() - started) / 1000).toFixed(1)} s, ${result.files?.length ?? 0} files`;
        }
        phases.push({
          kind,
          round,
          commit,
          api,
          loadBefore,
          loadAfter: loadavg(),
          seconds: (Date.now() - started) / 1000,
          note,
        });
      }
    }

    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log(
      `\naudit rows seeded: ${ROWS} in ${seedS.toFixed(1)} s; workers: ${WORKERS}; label ${LABEL.length} characters; ` +
        `a 1 MiB label answered ${tooLong.status} (${String(tooLong.body?.message).slice(0, 80)})\n`,
    );
    console.log(
      '| phase      | round | commit n | commit p50 ms | commit p99 ms | commit max ms | API p50 ms | API p99 ms | loadavg before → after | report |',
    );
    console.log(
      '|------------|-------|----------|---------------|---------------|---------------|------------|------------|------------------------|--------|',
    );
    for (const p of phases)
      console.log(
        `| ${p.kind.padEnd(10)} | ${String(p.round).padStart(5)} | ${String(p.commit.length).padStart(8)} | ${f(percentile(p.commit, 50)).padStart(13)} | ${f(percentile(p.commit, 99)).padStart(13)} | ${f(p.commit[p.commit.length - 1]).padStart(13)} | ${f(percentile(p.api, 50)).padStart(10)} | ${f(percentile(p.api, 99)).padStart(10)} | ${p.loadBefore} → ${p.loadAfter} | ${p.note} |`,
      );
    const pooled = (kind: Phase['kind'], k: 'commit' | 'api') =>
      phases
        .filter((p) => p.kind === kind)
        .flatMap((p) => p[k])
        .sort((a, b) => a - b);
    const reportP99 = percentile(pooled('report', 'commit'), 99);
    console.log(
      `\nall rounds: audit commit p99 ${percentile(pooled('anchor', 'commit'), 99).toFixed(1)} ms with no report, ` +
        `${reportP99.toFixed(1)} ms while reports render (target ≤ 1000 ms: ${reportP99 <= 1000 ? 'met' : 'NOT met'}); ` +
        `API p99 ${percentile(pooled('anchor', 'api'), 99).toFixed(1)} → ${percentile(pooled('report', 'api'), 99).toFixed(1)} ms`,
    );
  } finally {
    await db.end();
    await b.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
