/**
 * Where a launch's time goes (issue 4): the runtime API path of bench/launch (create → wait →
 * start → exit of /bin/true in busybox), with each collaborator the service calls wrapped in
 * a timer. Prints the median wall time of every step over N launches, in call order. Steps
 * that overlap (the service runs some concurrently) are marked; the total is the clock of the
 * whole launch, not the sum.
 *
 *   bash bench/run.sh launch-steps          (N=30; LAUNCH_BENCH_N to change)
 *
 * A diagnostic for whoever works on launch speed, not a claim: it has no target.
 */
import { AuditService, UsageService } from '../src/audit';
import { PolicyService } from '../src/policy';
import { ContainerService } from '../src/runtime';
import { ContainerFiles } from '../src/runtime/container/container-files';
import type { ContainerRepository } from '../src/runtime/container/container.repository';
import type { ImageProvider } from '../src/runtime/container/image-provider';
import { CGROUP_DRIVER } from '../src/runtime/container/runtime.tokens';
import type { CgroupDriver, CgroupHandle } from '../src/runtime/cgroups';
import { IMAGE, startBenchWarden, summary } from './lib/bench-warden';

const N = Number(process.env.LAUNCH_BENCH_N ?? 30);
const WARMUP = 3;

const samples = new Map<string, number[]>();
let recording = false;
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
  try {
    const app = w.warden.app;
    const svc = app.get(ContainerService);
    wrap(PolicyService.prototype, 'decide', () => 'create: policy decide (+ decision audit)');
    // The instances the service holds (providers may be registered under other tokens).
    const held = svc as unknown as { repo: ContainerRepository; images: ImageProvider };
    wrap(held.images, 'prepare', (a) => (a[1] === undefined ? 'start' : 'create') + ': image prepare');
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
      note('start: cgroup create + limits', performance.now() - t0);
      for (const m of ['stats', 'destroy'] as const) wrap(h, m, () => `exit: cgroup ${m}`);
      return h;
    };
    // The shim: spawn() returning, then its PID line, then EXEC (execve done), via its fds.
    // The module object itself (an `import *` namespace is read-only): launch-shim reads
    // spawn from it at each call.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const childProcess = require('node:child_process') as typeof import('node:child_process');
    const spawn = childProcess.spawn;
    childProcess.spawn = function (...args: Parameters<typeof spawn>) {
      const t0 = performance.now();
      const child = spawn(...args);
      const t1 = performance.now();
      note('start: shim spawn() call', t1 - t0);
      const status = child.stdio[4] as NodeJS.ReadableStream | null;
      let seen = '';
      status?.on('data', (c: Buffer) => {
        const before = seen;
        seen += c.toString();
        if (!before.includes('PID') && seen.includes('PID')) note('start: shim → PID line', performance.now() - t1);
        if (!before.includes('EXEC') && seen.includes('EXEC'))
          note('start: spawn → EXEC line', performance.now() - t1);
        if (!before.includes('EXIT') && seen.includes('EXIT')) note('exit: spawn → EXIT line', performance.now() - t1);
      });
      child.once('exit', () => note('exit: spawn → shim reaped', performance.now() - t1));
      return child;
    } as typeof spawn;

    // The shim as a whole: launch until execve is confirmed, and until its exit is known.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const shimModule = require('../src/runtime/shim/launch-shim') as typeof import('../src/runtime/shim/launch-shim');
    const launch = shimModule.launchShim;
    shimModule.launchShim = async (...args: Parameters<typeof launch>) => {
      const t0 = performance.now();
      const p = await launch(...args);
      note('start: launchShim → execve confirmed', performance.now() - t0);
      void p.exited.then(() => note('exit: launchShim → exit reported', performance.now() - t0));
      return p;
    };

    const total: number[] = [];
    const phase = { create: [] as number[], start: [] as number[], exit: [] as number[] };
    for (let i = 0; i < WARMUP + N; i++) {
      recording = i >= WARMUP;
      const t0 = performance.now();
      const c = await svc.create(w.caller, { launch: { image: IMAGE, cmd: ['/bin/true'] } });
      const t1 = performance.now();
      const waited = svc.wait(c.id, 'next-exit');
      await svc.start(w.caller, c.id);
      const t2 = performance.now();
      const code = await waited;
      const t3 = performance.now();
      if (code !== 0) throw new Error(`exit ${code}`);
      if (recording) {
        total.push(t3 - t0);
        phase.create.push(t1 - t0);
        phase.start.push(t2 - t1);
        phase.exit.push(t3 - t2);
      }
      recording = false;
      await svc.remove(w.caller, c.id);
    }
    const f = (xs: number[]) => summary(xs).median.toFixed(2).padStart(8);
    console.log(`runtime API launch of /bin/true, N=${N}: median ms per step (wall time, may overlap)\n`);
    console.log('| step                                       | median ms | calls/launch |');
    console.log('|--------------------------------------------|----------:|-------------:|');
    for (const [step, xs] of samples)
      console.log(`| ${step.padEnd(42)} |  ${f(xs)} | ${(xs.length / N).toFixed(1).padStart(12)} |`);
    console.log(
      `\nphases: create ${f(phase.create)}, start ${f(phase.start)}, exit → wait ${f(phase.exit)}; total ${f(total)}`,
    );
  } finally {
    await w.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
