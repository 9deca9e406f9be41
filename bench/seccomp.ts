/**
 * What the seccomp filter costs a launch (issue 14, point 1). Claim: the built-in profile adds
 * at most 2 ms to a shim launch of /bin/true (median), against the same launch unconfined,
 * once its program is compiled (once per rule set: the first row shows that one-off cost);
 * the service's part of a launch (the cache lookup and the CONFIG frame) stays under 0.5 ms.
 * Launches alternate between the two so both see the same load on a shared host.
 *
 *   bash bench/run.sh seccomp          (root: the shim makes namespaces)
 *
 * N=60 launches of each by default (SECCOMP_BENCH_N).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim } from '../src/runtime/shim/launch-shim';
import { seccompProgram } from '../src/runtime/shim/seccomp-compiler';
import { encodeShimConfig, type ShimRunConfig } from '../src/runtime/shim/shim-protocol';
import { resolveShimPath } from '../src/runtime/shim/launch-shim';
import { buildBusyboxRootfs } from '../test/fixtures/rootfs/busybox-rootfs';
import { makeTmp, noCgroups, runConfig } from '../test/fixtures/rootfs/shim-harness';

const N = Number(process.env.SECCOMP_BENCH_N ?? 60);
const TARGET_ADDED_MS = 2;
const TARGET_ENCODE_MS = 0.5;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function launch(config: ShimRunConfig): Promise<number> {
  const t0 = performance.now();
  const p = await launchShim(config, noCgroups);
  const status = await p.exited;
  if (status.exitCode !== 0) throw new Error(`/bin/true exited ${JSON.stringify(status)}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the shim creates namespaces');
  const scratch = makeTmp('warden-bench-seccomp-');
  try {
    const rootfs = buildBusyboxRootfs(join(scratch, 'busybox'));
    const builtin = runConfig({ rootfs }, ['/bin/true']);
    const unconfined = runConfig({ rootfs }, ['/bin/true'], {}, { seccomp: 'unconfined' });
    const times = { builtin: [] as number[], unconfined: [] as number[], encode: [] as number[] };
    const shimPath = resolveShimPath();
    const c0 = performance.now();
    await seccompProgram(builtin, shimPath);
    const firstCompile = performance.now() - c0;
    for (let i = 0; i < 5; i++) await launch(builtin); // warm-up
    for (let i = 0; i < N; i++) {
      times.builtin.push(await launch(builtin));
      times.unconfined.push(await launch(unconfined));
      const t0 = performance.now();
      const program = await seccompProgram(builtin, shimPath);
      encodeShimConfig({ ...builtin, process: { ...builtin.process, seccompProgram: program } });
      times.encode.push(performance.now() - t0);
    }
    const added = median(times.builtin) - median(times.unconfined);
    const encode = median(times.encode);
    const program = (await seccompProgram(builtin, shimPath)) ?? Buffer.alloc(0);
    const frame = encodeShimConfig({
      ...builtin,
      process: { ...builtin.process, seccompProgram: program },
    }).length;
    console.log(`seccomp: ${N} launches each, /bin/true in busybox, alternating\n`);
    console.log('| row                          | median ms | target      |');
    console.log('| ---------------------------- | --------- | ----------- |');
    console.log(`| compile, once per rule set   | ${firstCompile.toFixed(2).padStart(9)} |             |`);
    console.log(
      `| launch, unconfined (anchor)  | ${median(times.unconfined).toFixed(2).padStart(9)} |             |`,
    );
    console.log(
      `| launch, built-in profile     | ${median(times.builtin).toFixed(2).padStart(9)} |             |`,
    );
    console.log(
      `| added by the filter          | ${added.toFixed(2).padStart(9)} | ≤ ${TARGET_ADDED_MS} ms      |`,
    );
    console.log(
      `| service: program + frame     | ${encode.toFixed(3).padStart(9)} | ≤ ${TARGET_ENCODE_MS} ms    |`,
    );
    console.log(
      `\nCONFIG frame with the built-in profile: ${frame} bytes (${program.length / 8} BPF instructions)`,
    );
    const ok = added <= TARGET_ADDED_MS && encode <= TARGET_ENCODE_MS;
    console.log(ok ? 'PASS' : 'MISS');
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

void main();
