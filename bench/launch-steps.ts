/**
 * Where a launch's time goes (issue 4): launches of /bin/true in busybox with each
 * collaborator the container service calls wrapped in a timer. Prints the median wall time of
 * every step over N launches, then a timeline: when each milestone happens, as the median
 * ms since the create reached the service. Steps may overlap (some run concurrently); the
 * timeline is what the critical path is made of.
 *
 *   bash bench/run.sh launch-steps                     (runtime API, as bench/launch's row)
 *   LAUNCH_STEPS_REST=1 bash bench/run.sh launch-steps (REST from a client in its own process)
 *
 * N=30 by default (LAUNCH_BENCH_N). A diagnostic for whoever works on launch speed, not a
 * claim: it has no target.
 */
import { ServerResponse } from 'node:http';
import { AuditService, UsageService } from '../src/audit';
import { PolicyService } from '../src/policy';
import { ContainerService } from '../src/runtime';
import { ContainerFiles } from '../src/runtime/container/container-files';
import { ContainerLauncher } from '../src/runtime/container/container-launcher';
import type { ContainerRepository } from '../src/runtime/container/container.repository';
import type { ImageProvider } from '../src/images/image-provider';
import { CGROUP_DRIVER } from '../src/runtime/container/runtime.tokens';
import type { CgroupDriver, CgroupHandle } from '../src/runtime/cgroups';
import { BENCH_TOKEN, IMAGE, startBenchWarden, summary } from './lib/bench-warden';
import { startRestClient, type LaunchTiming } from './lib/rest-client';

const N = Number(process.env.LAUNCH_BENCH_N ?? 30);
const WARMUP = 3;

const samples = new Map<string, number[]>();
const marks = new Map<string, number[]>();
let recording = false;
/** When the current launch's create reached the service. */
let launchT0 = 0;
/** A milestone of the current launch, in ms since launchT0 (the first of its kind per launch). */
const seen = new Set<string>();
function mark(name: string): void {
  if (!recording || seen.has(name)) return;
  seen.add(name);
  const list = marks.get(name) ?? [];
  list.push(performance.now() - launchT0);
  marks.set(name, list);
}
function note(step: string, ms: number): void {
  if (!recording) return;
  const list = samples.get(step) ?? [];
  list.push(ms);
  samples.set(step, list);
}

/** Replaces obj[method] with a timed version; `label` may look at the arguments. */
function wrap<T extends object>(obj: T, method: keyof T & string, label: (args: unknown[]) => string): void {
  const original = obj[method] as unknown as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    const out = original.apply(this, args);
    if (out instanceof Promise)
      return out.finally(() => note(label(args), performance.now() - t0)) as unknown;
    note(label(args), performance.now() - t0);
    return out;
  };
}

async function main(): Promise<void> {
  const w = await startBenchWarden();
  const closers: Array<() => void> = [];
  try {
    const app = w.warden.app;
    const svc = app.get(ContainerService);
    const rest = process.env.LAUNCH_STEPS_REST === '1';
    // Milestones: the service's verbs entered and done, HTTP answers written.
    for (const verb of ['create', 'start', 'wait'] as const) {
      const original = svc[verb].bind(svc) as (...a: unknown[]) => Promise<unknown>;
      (svc as unknown as Record<string, unknown>)[verb] = (...args: unknown[]) => {
        if (verb === 'create') {
          launchT0 = performance.now();
          seen.clear();
        }
        mark(`${verb}: service entered`);
        return original(...args).finally(() => mark(`${verb}: service done`));
      };
    }
    const end = ServerResponse.prototype.end;
    ServerResponse.prototype.end = function (
      this: ServerResponse & { req?: { method?: string; url?: string } },
      ...a: unknown[]
    ) {
      const url = this.req?.url ?? '';
      const what = /\/wait/.test(url)
        ? 'wait'
        : /\/start/.test(url)
          ? 'start'
          : this.req?.method === 'POST'
            ? 'create'
            : '';
      if (what) mark(`http: ${what} answered`);
      return (end as (...x: unknown[]) => ServerResponse).apply(this, a);
    } as typeof end;
    wrap(PolicyService.prototype, 'decide', () => 'create: policy decide (+ decision audit)');
    // The instances the service holds (providers may be registered under other tokens).
    const held = svc as unknown as { repo: ContainerRepository };
    const images = (app.get(ContainerLauncher) as unknown as { images: ImageProvider }).images;
    wrap(images, 'prepare', (a) => (a[1] === undefined ? 'start' : 'create') + ': image prepare');
    const repo = held.repo;
    for (const m of ['insert', 'findByRef', 'markRunning', 'markExited', 'get', 'delete'] as const)
      wrap(repo, m, () => `db: containers.${m}`);
    const audit = app.get(AuditService);
    wrap(audit, 'record', (a) => `queue: audit ${(a[0] as { type: string }).type}`);
    wrap(app.get(UsageService), 'record', () => 'queue: usage final sample');
    wrap(ContainerFiles.prototype, 'create', () => 'create: container files');
    wrap(ContainerFiles.prototype, 'resetWork', () => 'start: reset upper/work');
    const cgroups = app.get<CgroupDriver>(CGROUP_DRIVER);
    const createCgroup = cgroups.create.bind(cgroups);
    cgroups.create = async (...args) => {
      const t0 = performance.now();
      const h: CgroupHandle = await createCgroup(...args);
      note('cgroup create + limits', performance.now() - t0);
      for (const m of ['stats', 'destroy'] as const) wrap(h, m, () => `exit: cgroup ${m}`);
      return h;
    };
    // The shim as a whole: launch until execve is confirmed, and until its exit is known.
    // The module object itself (an `import *` namespace is read-only): the service reads
    // launchShim from it at each call.
    const shimModule =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../src/runtime/shim/launch-shim') as typeof import('../src/runtime/shim/launch-shim');
    // A prepared start (at create): setup until READY, then the start's go until execve.
    const prepare = shimModule.prepareShim;
    shimModule.prepareShim = async (...args: Parameters<typeof prepare>) => {
      const t0 = performance.now();
      const p = await prepare(...args);
      note('create: prepareShim → ready', performance.now() - t0);
      mark('prepared start ready');
      const go = p.go;
      p.go = async () => {
        const t1 = performance.now();
        const launched = await go();
        note('start: go → execve confirmed', performance.now() - t1);
        mark('start: execve confirmed');
        void launched.exited.then(() => mark('exit: shim reported the exit'));
        return launched;
      };
      return p;
    };
    const launch = shimModule.launchShim;
    shimModule.launchShim = async (...args: Parameters<typeof launch>) => {
      const t0 = performance.now();
      const p = await launch(...args);
      note('start: launchShim → execve confirmed', performance.now() - t0);
      mark('start: execve confirmed');
      void p.exited.then(() => {
        note('exit: launchShim → exit reported', performance.now() - t0);
        mark('exit: shim reported the exit');
      });
      return p;
    };

    const total: number[] = [];
    const phase = { create: [] as number[], start: [] as number[], exit: [] as number[] };
    let launchOnce: () => Promise<LaunchTiming>;
    if (rest) {
      const client = await startRestClient({ url: w.url, token: BENCH_TOKEN, image: IMAGE });
      closers.push(() => client.close());
      launchOnce = () => client.launch();
    } else {
      launchOnce = async () => {
        const t0 = performance.now();
        const c = await svc.create(w.caller, { launch: { image: IMAGE, cmd: ['/bin/true'] } });
        const t1 = performance.now();
        const waited = svc.wait(w.caller, c.id, 'next-exit');
        await svc.start(w.caller, c.id);
        const t2 = performance.now();
        const code = await waited;
        const t3 = performance.now();
        if (code !== 0) throw new Error(`exit ${code}`);
        await svc.remove(w.caller, c.id);
        return { ms: t3 - t0, create: t1 - t0, start: t2 - t1, exit: t3 - t2 };
      };
    }
    for (let i = 0; i < WARMUP + N; i++) {
      recording = i >= WARMUP;
      const t = await launchOnce();
      if (recording) {
        total.push(t.ms);
        phase.create.push(t.create);
        phase.start.push(t.start);
        phase.exit.push(t.exit);
      }
      recording = false;
    }
    const f = (xs: number[]) => summary(xs).median.toFixed(2).padStart(8);
    console.log(
      `${rest ? 'REST' : 'runtime API'} launch of /bin/true, N=${N}: median ms per step (wall time, may overlap)\n`,
    );
    console.log('| step                                       | median ms | calls/launch |');
    console.log('|--------------------------------------------|----------:|-------------:|');
    for (const [step, xs] of samples)
      console.log(`| ${step.padEnd(42)} |  ${f(xs)} | ${(xs.length / N).toFixed(1).padStart(12)} |`);
    console.log('\n| milestone (ms since the create reached the service) | median ms |');
    console.log('|-----------------------------------------------------|----------:|');
    const timeline = [...marks].map(([name, xs]) => [name, summary(xs).median] as const);
    for (const [name, ms] of timeline.sort((a, b) => a[1] - b[1]))
      console.log(`| ${name.padEnd(51)} |  ${ms.toFixed(2).padStart(8)} |`);
    console.log(
      `\n${rest ? 'REST client' : 'runtime API'} phases: create ${f(phase.create)}, start ${f(phase.start)}, ` +
        `exit → wait ${f(phase.exit)}; total ${f(total)}`,
    );
  } finally {
    for (const c of closers) c();
    await w.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
