/**
 * bench/report — does generating a compliance report over 100k audit rows block the API?
 * `bash bench/run.sh report`
 *
 * Seeds 100k policy-decision events into the chain (through the same repository the audit
 * workers use), then measures API latency (GET /audit/events?limit=1 with a token: a real
 * route through auth, validation and Postgres) while idle and while the report job runs in
 * the same process (role `up`: API and workers together, the hardest case).
 */
import { randomUUID } from 'node:crypto';
import { AuditEventRepository } from '../src/audit';
import type { AuditEvent } from '../src/audit';
import { percentile, startBenchWarden } from './lib/bench-warden';

const ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 100_000);

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
        labels: { owner: `team-${i % 9}` },
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

async function latencies(
  call: () => Promise<unknown>,
  until: () => boolean,
  minMs: number,
): Promise<number[]> {
  const out: number[] = [];
  const start = Date.now();
  while (Date.now() - start < minMs || !until()) {
    const t = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 5));
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const b = await startBenchWarden();
  try {
    const repo = b.warden.app.get(AuditEventRepository);
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
    const probe = () => b.call('GET', '/audit/events?limit=1');
    const idle = await latencies(probe, () => true, 5000);

    let done = false;
    const started = Date.now();
    const req = await b.call('POST', '/reports', {
      from: new Date(base - 1000).toISOString(),
      to: new Date().toISOString(),
    });
    if (req.status !== 201) throw new Error(`report request: ${req.status} ${JSON.stringify(req.body)}`);
    const poll = (async () => {
      for (;;) {
        const r = await b.call('GET', `/reports/${req.body.id}`);
        if (r.body.status === 'done' || r.body.status === 'failed') {
          done = true;
          return r.body;
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const busy = await latencies(probe, () => done, 0);
    const result = await poll;
    const genS = (Date.now() - started) / 1000;

    const row = (name: string, xs: number[]) =>
      `| ${name.padEnd(28)} | ${String(xs.length).padStart(6)} | ${percentile(xs, 50).toFixed(1).padStart(7)} | ${percentile(xs, 99).toFixed(1).padStart(7)} | ${xs[xs.length - 1].toFixed(1).padStart(7)} |`;
    console.log(
      `\naudit rows seeded: ${ROWS} in ${seedS.toFixed(1)} s; report ${result.status} in ${genS.toFixed(1)} s (files: ${result.files?.map((f: { name: string }) => f.name).join(', ')})\n`,
    );
    console.log('| API latency, GET /audit/events | n      | p50 ms  | p99 ms  | max ms  |');
    console.log('|------------------------------|--------|---------|---------|---------|');
    console.log(row('idle', idle));
    console.log(row('during report generation', busy));
    const ratio = percentile(busy, 99) / percentile(idle, 99);
    console.log(
      `\np99 during / idle: ${ratio.toFixed(2)}x  (the job yields between pages of 1000 rows; the PDF render and JSON encoding are the longest slices left)`,
    );
  } finally {
    await b.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
