/**
 * Claim (issue 4): Warden's REST launch of /bin/true in busybox (create + start + wait, policy
 * decision and audit events included) has a median start-to-exit within 1.5× crun's, and is
 * at least 10× faster than podman's — all measured side by side in one run, same layer.
 *
 *   bash bench/run.sh launch              (N=50 per launcher; LAUNCH_BENCH_N to change)
 *
 * 20 warm-up rounds first (LAUNCH_BENCH_WARMUP): a service that has run a few launches has
 * had its launch path optimised by V8, as any Warden that has been up for a minute has.
 *
 * Rows: Warden over REST (three requests, as the docker CLI makes them: create, wait
 * registered before start, start; the wait's answer ends the clock) against Warden in this
 * process with its own embedded PostgreSQL and Redis, from a client in its own process (as
 * every real client is; lib/rest-client.ts) and, for comparison, from a client sharing the
 * server's event loop; Warden's runtime API without HTTP
 * (ContainerService create → start → wait); `runc run`; `crun run` in a private mount
 * namespace without /sys/fs/cgroup/unified; `podman run --rm`; and `unshare` of the same
 * namespaces as the floor. Launchers take turns within each round (the order rotates), so
 * they share whatever noise the host has. Removing a Warden container happens after the
 * clock stops (runc/crun delete their state before exiting; podman's --rm is in its time).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerService } from '../src/runtime';
import { ociArchive } from '../test/fixtures/images/archives';
import { busyboxImage, busyboxLayerTar } from '../test/fixtures/images/fixture-images';
import {
  CRUN,
  installed,
  podmanCgroupParentExists,
  podmanEnv,
  podmanLoad,
  podmanReset,
  removeCgroupTree,
  ShellDriver,
  writeBundle,
} from './lib/anchors';
import { BENCH_TOKEN, IMAGE, startBenchWarden, summary } from './lib/bench-warden';
import { startRestClient } from './lib/rest-client';

const N = Number(process.env.LAUNCH_BENCH_N ?? 50);
const WARMUP = Number(process.env.LAUNCH_BENCH_WARMUP ?? 20);
const REST_TARGET = 1.5;
const PODMAN_TARGET = 10;

interface Launcher {
  name: string;
  run(i: number): Promise<number>;
  ms: number[];
  skipped?: string;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-launch-'));
  const anchorCgroup = `warden-bench-anchor-${process.pid}`;
  const drivers: ShellDriver[] = [];
  const closers: Array<() => void> = [];
  let podman: { env: Record<string, string>; hadParent: boolean } | undefined;
  const w = await startBenchWarden();
  try {
    const svc = w.warden.app.get(ContainerService);
    const phases = { create: [] as number[], start: [] as number[], exit: [] as number[] };
    const launchers: Launcher[] = [];
    const add = (name: string, run: Launcher['run'], skipped?: string) =>
      launchers.push({ name, run, ms: [], skipped });

    // The client in its own process, as the docker CLI or an SDK is (lib/rest-client.ts).
    const client = await startRestClient({ url: w.url, token: BENCH_TOKEN, image: IMAGE });
    closers.push(() => client.close());
    add('Warden REST create+start+wait', async () => {
      const t = await client.launch();
      phases.create.push(t.create);
      phases.start.push(t.start);
      phases.exit.push(t.exit);
      return t.ms;
    });

    add('Warden REST, client in this process', async () => {
      const t0 = performance.now();
      const created = await w.call('POST', '/containers', { image: IMAGE, cmd: ['/bin/true'] });
      if (created.status !== 201)
        throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
      const id = created.body?.id as string;
      const waited = w.call('POST', `/containers/${id}/wait?condition=next-exit`);
      const started = await w.call('POST', `/containers/${id}/start`);
      if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
      const exit = await waited;
      const t1 = performance.now();
      if (exit.body?.statusCode !== 0) throw new Error(`wait: ${JSON.stringify(exit.body)}`);
      await w.call('DELETE', `/containers/${id}`);
      return t1 - t0;
    });

    add('Warden runtime API (no HTTP)', async () => {
      const t0 = performance.now();
      const c = await svc.create(w.caller, { launch: { image: IMAGE, cmd: ['/bin/true'] } });
      const waited = svc.wait(w.caller, c.id, 'next-exit');
      await svc.start(w.caller, c.id);
      const code = await waited;
      const t1 = performance.now();
      if (code !== 0) throw new Error(`exit ${code}`);
      await svc.remove(w.caller, c.id);
      return t1 - t0;
    });

    const shell = async (
      name: string,
      tool: string,
      prefix: string[],
      env: Record<string, string>,
      cmd: (i: number) => string,
    ) => {
      if (!installed(tool)) return add(name, async () => 0, `${tool} not installed`);
      const d = await ShellDriver.start(prefix, env, path.join(dir, `${tool}.err`));
      drivers.push(d);
      add(name, async (i) => {
        const r = await d.time(cmd(i));
        if (r.rc !== 0) throw new Error(`${name} exited ${r.rc}: ${d.lastErrors()}`);
        return r.ms;
      });
    };

    // Without runc and crun there is no bundle to run (the rows say 'not installed').
    const bundle =
      installed('runc') || installed('crun')
        ? writeBundle(path.join(dir, 'oci'), await busyboxLayerTar(), anchorCgroup)
        : '';
    await shell(
      'runc run',
      'runc',
      [],
      {},
      (i) => `runc --root ${dir}/runc-state run --bundle ${bundle} r${i}`,
    );
    await shell('crun run (private mount ns)', 'crun', CRUN.prefix, CRUN.env, (i) =>
      CRUN.run(`${dir}/crun-state`, bundle, `c${i}`),
    );
    if (installed('podman')) {
      const env = podmanEnv(path.join(dir, 'podman'));
      podman = { env, hadParent: podmanCgroupParentExists() };
      const archive = path.join(dir, 'busybox.oci.tar');
      fs.writeFileSync(archive, await ociArchive(await busyboxImage(), IMAGE));
      const image = podmanLoad(env, archive);
      await shell('podman run --rm', 'podman', [], env, () => `podman run --rm ${image} /bin/true`);
    } else add('podman run --rm', async () => 0, 'podman not installed');
    await shell(
      'unshare (namespaces only, floor)',
      'unshare',
      [],
      {},
      () => 'unshare --pid --fork --mount --uts --ipc --net /bin/true',
    );

    const active = launchers.filter((l) => !l.skipped);
    for (let round = 0; round < WARMUP + N; round++) {
      for (let k = 0; k < active.length; k++) {
        const l = active[(round + k) % active.length];
        const ms = await l.run(round);
        if (round >= WARMUP) l.ms.push(ms);
      }
    }
    for (const p of Object.values(phases)) p.splice(0, WARMUP);

    const byName = (prefix: string) => launchers.find((l) => l.name.startsWith(prefix));
    const crun = byName('crun')?.ms.length ? summary(byName('crun')!.ms).median : NaN;
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—').padStart(8);
    console.log(
      `launch of /bin/true in busybox, N=${N} per launcher (after ${WARMUP} warm-up rounds), ${os.cpus().length} CPUs`,
    );
    console.log('');
    console.log('| launcher                              | median ms |   p95 ms | × crun median |');
    console.log('|---------------------------------------|----------:|---------:|--------------:|');
    for (const l of launchers) {
      if (l.skipped) {
        console.log(`| ${l.name.padEnd(37)} |        — |       — | ${l.skipped.padStart(13)} |`);
        continue;
      }
      const s = summary(l.ms);
      console.log(
        `| ${l.name.padEnd(37)} |  ${f(s.median)} | ${f(s.p95)} | ${(s.median / crun).toFixed(2).padStart(12)}× |`,
      );
    }
    console.log('');
    console.log(
      'Warden REST, by phase (median ms): ' +
        `create ${summary(phases.create).median.toFixed(1)}, ` +
        `start ${summary(phases.start).median.toFixed(1)}, ` +
        `exit → wait answered ${summary(phases.exit).median.toFixed(1)}`,
    );
    const rest = summary(byName('Warden REST')!.ms).median;
    const pod = byName('podman')?.ms.length ? summary(byName('podman')!.ms).median : NaN;
    const restOk = rest <= REST_TARGET * crun;
    const podOk = pod / rest >= PODMAN_TARGET;
    console.log(
      `Warden REST / crun = ${(rest / crun).toFixed(2)} (target ≤ ${REST_TARGET}) ${restOk ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `podman / Warden REST = ${(pod / rest).toFixed(1)} (target ≥ ${PODMAN_TARGET}) ${podOk ? 'PASS' : 'FAIL'}`,
    );
    if (!restOk || !podOk) process.exitCode = 1;
  } finally {
    for (const c of closers) c();
    for (const d of drivers) await d.close().catch(() => undefined);
    if (podman) podmanReset(podman.env, podman.hadParent);
    removeCgroupTree(anchorCgroup);
    await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
