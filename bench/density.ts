/**
 * Claim (issue 4): what each running container costs, side by side — Warden's own memory
 * per container next to the container's. Starts N `sleep` containers (500 by default,
 * DENSITY_BENCH_N to change; stops early and says so if the host refuses more) through
 * ContainerService in a Warden with its own embedded PostgreSQL and Redis, then reports:
 *
 *   Warden RSS per container     growth of this process's RSS (the `up` role: API, runtime
 *                                and workers) from before the first start to all running,
 *                                after a full GC both times, divided by N
 *   shim waiter per container    RSS and PSS of each container's shim (the process that
 *                                waits for and relays its exit), averaged
 *   container's own memory       the container cgroup's memory usage and working set
 *                                (usage − inactive_file), averaged
 *
 *   bash bench/run.sh density
 *
 * Everything it started is removed at the end: containers (force), cgroups, temp dirs.
 */
import * as os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ContainerService, LiveContainers } from '../src/runtime';
import { IMAGE, pssOf, rssOf, startBenchWarden } from './lib/bench-warden';

const N = Number(process.env.DENSITY_BENCH_N ?? 500);
const CONCURRENCY = 4;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** This process (API, runtime) after full GCs, plus `up`'s worker process as it stands. */
async function settledRss(workerPid: number | undefined): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 200));
  }
  return rssOf('self') + (workerPid ? rssOf(workerPid) : 0);
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2);

async function main(): Promise<void> {
  const w = await startBenchWarden();
  const svc = w.warden.app.get(ContainerService);
  const live = w.warden.app.get(LiveContainers);
  const ids: string[] = [];
  try {
    const run = async () => {
      const c = await svc.create(w.caller, { launch: { image: IMAGE, cmd: ['sleep', '3600'] } });
      ids.push(c.id);
      await svc.start(w.caller, c.id);
    };
    // Warm-up: JIT, pools and caches reach their steady size before the baseline.
    for (let i = 0; i < 5; i++) await run();
    for (const id of ids.splice(0)) await svc.remove(w.caller, id, { force: true });
    const before = await settledRss(w.warden.workerPid());
    const heapBefore = process.memoryUsage().heapUsed;

    let refused: string | undefined;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N && !refused) {
          next++;
          await run().catch((err: Error) => (refused ??= err.message));
        }
      }),
    );
    const startSecs = (performance.now() - t0) / 1000;
    const running = live.all();
    const n = running.length;
    const after = await settledRss(w.warden.workerPid());
    const heapAfter = process.memoryUsage().heapUsed;

    let usage = 0;
    let workingSet = 0;
    let shimRss = 0;
    let shimPss = 0;
    for (const e of running) {
      const s = await e.cgroup.stats();
      usage += s.memory.usageBytes;
      workingSet += s.memory.workingSetBytes;
      shimRss += rssOf(e.process.shimPid);
      shimPss += pssOf(e.process.shimPid);
    }

    console.log(
      `density: ${n} sleep containers running${n < N ? ` (asked for ${N}; stopped at: ${refused})` : ''}, started in ${startSecs.toFixed(1)} s, ${os.cpus().length} CPUs`,
    );
    console.log('');
    console.log('| per container                                   |    MiB |');
    console.log('|-------------------------------------------------|-------:|');
    console.log(
      `| Warden RSS growth / N (API + runtime + worker)  | ${mib((after - before) / n).padStart(6)} |`,
    );
    console.log(
      `|   of which JS heap growth / N                   | ${mib((heapAfter - heapBefore) / n).padStart(6)} |`,
    );
    console.log(`| shim waiter RSS                                 | ${mib(shimRss / n).padStart(6)} |`);
    console.log(`| shim waiter PSS (shared pages split)            | ${mib(shimPss / n).padStart(6)} |`);
    console.log(`| container cgroup memory usage                   | ${mib(usage / n).padStart(6)} |`);
    console.log(`| container working set (usage − inactive_file)   | ${mib(workingSet / n).padStart(6)} |`);
    console.log('');
    console.log(`Warden RSS: ${mib(before)} MiB before, ${mib(after)} MiB with ${n} running`);
    if (n < N) process.exitCode = 1;
  } finally {
    let k = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY * 2 }, async () => {
        while (k < ids.length) {
          const id = ids[k++];
          await svc
            .remove(w.caller, id, { force: true })
            .catch((err: Error) => console.error(`remove ${id}: ${err.message}`));
        }
      }),
    );
    await w.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
