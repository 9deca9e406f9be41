/**
 * Claim (issue 15, point 1): a restarted Warden adopts the containers the previous one left
 * running — 500 of them in at most 2 s. Starts N `sleep` containers (RESTORE_BENCH_N, default
 * 200: the development host is shared and two-cored), stops Warden cleanly with live restore
 * on (they keep running, watched by their shims), starts a new Warden on the same data dir
 * and servers, and times:
 *
 *   reconcile       recovery's own measure (service.down's `reconcileMs`): every running
 *                   row's state dir read, pid and start time checked, control socket
 *                   connected, cgroup opened, log followed
 *   Warden start    startWarden() to its promise resolving (servers already up): what a
 *                   client waits before the API answers
 *
 * and the per-container cost scaled to 500, against the 2 s target. Every container is then
 * checked running under the new Warden, and everything is removed.
 *
 *   bash bench/run.sh restore
 *   RESTORE_BENCH_N=500 bash bench/run.sh restore
 */
import { AuditEventRepository } from '../src/audit';
import { ContainerService, LiveContainers } from '../src/runtime';
import { IMAGE, startBenchWarden } from './lib/bench-warden';

const N = Number(process.env.RESTORE_BENCH_N ?? 200);
const TARGET_N = 500;
const TARGET_MS = 2000;
const CONCURRENCY = 4;

async function main(): Promise<void> {
  const w = await startBenchWarden({ WARDEN_LIVE_RESTORE: 'true' });
  const ids: string[] = [];
  let failed = false;
  try {
    const svc = w.warden.app.get(ContainerService);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < N) {
          const c = await svc.create(w.caller, { launch: { image: IMAGE, cmd: ['sleep', '3600'] } });
          ids.push(c.id);
          await svc.start(w.caller, c.id);
        }
      }),
    );
    console.log(`started ${ids.length} containers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const s0 = performance.now();
    const warden = await w.restart({ WARDEN_LIVE_RESTORE: 'true' });
    const startMs = performance.now() - s0;
    const adopted = warden.app.get(LiveContainers).all().length;
    // The event is committed by the audit worker, a moment after the start.
    let down: { reconcileMs: number } | undefined;
    for (let i = 0; i < 100 && !down; i++) {
      const events = await warden.app.get(AuditEventRepository).list({ type: 'service.down', limit: 10 });
      down = events[0]?.payload as { reconcileMs: number } | undefined;
      if (!down) await new Promise((r) => setTimeout(r, 100));
    }
    if (!down) throw new Error('no service.down event after the restart');
    const reconcileMs = down.reconcileMs;
    const scaled = (reconcileMs / N) * TARGET_N;
    failed = adopted !== N || scaled > TARGET_MS;

    const row = (what: string, ms: number, perContainer: boolean) =>
      `| ${what.padEnd(30)} | ${ms.toFixed(0).padStart(8)} | ${(perContainer ? (ms / N).toFixed(2) : '').padStart(10)} |`;
    console.log(`\nAdopting ${N} running containers (load ${(await loadavg()).trim()})\n`);
    console.log(`| ${'measure'.padEnd(30)} | ${'ms'.padStart(8)} | ${'ms / ctr'.padStart(10)} |`);
    console.log(`| ${'-'.repeat(30)} | ${'-'.repeat(8)} | ${'-'.repeat(10)} |`);
    console.log(row(`reconcile (${N} adopted)`, reconcileMs, true));
    console.log(row('Warden start, servers up', startMs, true));
    console.log(row(`reconcile scaled to ${TARGET_N}`, scaled, false));
    console.log(row(`target for ${TARGET_N}`, TARGET_MS, false));
    console.log(
      `\n${adopted} of ${N} adopted; ${failed ? 'MISSED' : 'met'}: ${scaled.toFixed(0)} ms for ${TARGET_N} ≤ ${TARGET_MS} ms`,
    );
  } finally {
    const svc = w.warden.app.get(ContainerService);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length)
          await svc.remove(w.caller, ids[next++], { force: true }).catch(() => undefined);
      }),
    );
    await w.close();
  }
  if (failed) process.exitCode = 1;
}

async function loadavg(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile('/proc/loadavg', 'utf8');
}

void main().catch((err: Error) => {
  console.error(err);
  process.exitCode = 1;
});
