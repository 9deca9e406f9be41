/**
 * What a sized writable layer costs (issue 14 point 2): every container's layer is an ext4 in a
 * sparse file, loop-mounted (`baseline` fills 10 GiB), where it used to be a plain directory.
 *
 *   bash bench/run.sh storage          (STORAGE_BENCH_N=30 launches each by default)
 *
 * Two tables, A/B interleaved in blocks of 5 so load drifts hit both sides alike:
 * 1. the layer alone: mkdir (plain) vs mkfs.ext4 + loop mount + unmount + rm (10 GiB);
 * 2. a REST launch cycle (create → start → exit → remove of busybox /bin/true) under a policy
 *    with no storage default (plain layer) vs `baseline` (10 GiB sized layer).
 * The load average is printed with the tables: on 2 shared cores, read ratios, not absolutes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSizedFilesystem, unmountSized } from '../src/platform/linux';
import { IMAGE, startBenchWarden, type BenchWarden } from './lib/bench-warden';

const N = Number(process.env.STORAGE_BENCH_N ?? 30);
const BLOCK = 5;
const GiB = 1024 ** 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs `a` and `b` N times each, in alternating blocks. */
async function interleaved(
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  while (ta.length < N || tb.length < N) {
    for (let i = 0; i < BLOCK && ta.length < N; i++) ta.push(await a());
    for (let i = 0; i < BLOCK && tb.length < N; i++) tb.push(await b());
  }
  return [ta, tb];
}

async function layerAlone(dir: string): Promise<[number[], number[]]> {
  let n = 0;
  const plain = async () => {
    const d = path.join(dir, `plain-${n++}`);
    const t0 = process.hrtime.bigint();
    fs.mkdirSync(d);
    fs.mkdirSync(path.join(d, 'upper'));
    fs.mkdirSync(path.join(d, 'work'));
    const t = ms(t0);
    fs.rmSync(d, { recursive: true });
    return t;
  };
  const sized = async () => {
    const d = path.join(dir, `sized-${n++}`);
    const t0 = process.hrtime.bigint();
    await makeSizedFilesystem(`${d}.ext4`, 10 * GiB, d);
    fs.mkdirSync(path.join(d, 'upper'));
    fs.mkdirSync(path.join(d, 'work'));
    const made = ms(t0);
    await unmountSized(d);
    fs.rmSync(d, { recursive: true });
    fs.rmSync(`${d}.ext4`);
    return made;
  };
  return interleaved(plain, sized);
}

async function launchCycle(w: BenchWarden, sized: boolean): Promise<number> {
  const t0 = process.hrtime.bigint();
  const created = await w.call('POST', '/containers', { image: IMAGE, cmd: ['/bin/true'] });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const { id, spec } = created.body as { id: string; spec: { storageBytes?: number } };
  // The side is what it says: the layer is sized under baseline only.
  if ((spec.storageBytes !== undefined) !== sized)
    throw new Error(`layer size ${spec.storageBytes} on the wrong side`);
  const waited = w.call('POST', `/containers/${id}/wait?condition=next-exit`);
  const started = await w.call('POST', `/containers/${id}/start`);
  if (started.status >= 300) throw new Error(`start: ${started.status}`);
  await waited;
  const removed = await w.call('DELETE', `/containers/${id}`);
  if (removed.status >= 300) throw new Error(`remove: ${removed.status}`);
  return ms(t0);
}

async function main(): Promise<void> {
  const load0 = os.loadavg()[0];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-storage-'));
  let alone: [number[], number[]];
  try {
    alone = await layerAlone(scratch);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const w = await startBenchWarden();
  let cycles: [number[], number[]];
  try {
    // `baseline` without its storage default: the layer is a plain directory.
    const plain = await w.call('POST', '/policies', {
      name: 'plain-layer',
      mode: 'enforce',
      rules: { resources: { memory: { default: '512m' }, cpu: { default: 1 }, pids: { default: 1024 } } },
    });
    if (plain.status !== 201) throw new Error(`policy: ${plain.status} ${JSON.stringify(plain.body)}`);
    await w.call('POST', '/policies/plain-layer/activate', { versionId: (plain.body as { id: string }).id });
    const bind = () =>
      w.call('POST', '/policies/plain-layer/bindings', { kind: 'principal', value: 'admin' });
    const unbind = () => w.call('DELETE', '/policies/plain-layer/bindings?kind=principal&value=admin');
    for (let i = 0; i < 3; i++) await launchCycle(w, true); // warm-up
    let bound = false;
    const as = (wantBound: boolean) => async () => {
      if (bound !== wantBound) {
        await (wantBound ? bind() : unbind());
        bound = wantBound;
      }
      return launchCycle(w, !wantBound);
    };
    cycles = await interleaved(as(true), as(false));
  } finally {
    await w.close();
  }
  const load1 = os.loadavg()[0];

  const row = (what: string, a: number[], b: number[]) =>
    `| ${what} | ${median(a).toFixed(1)} | ${median(b).toFixed(1)} | ${(median(b) - median(a)).toFixed(1)} | ${(median(b) / median(a)).toFixed(2)}× | ${p90(a).toFixed(1)} / ${p90(b).toFixed(1)} |`;
  console.log(
    `\nwritable layer: plain directory (A) vs 10 GiB sized ext4 (B); ${N} each, blocks of ${BLOCK}`,
  );
  console.log(`load average ${load0.toFixed(1)} → ${load1.toFixed(1)} (2 cores)\n`);
  console.log('| what | A median ms | B median ms | B − A ms | B / A | p90 A / B ms |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('layer made (mkdir vs mkfs + loop mount)', ...alone));
  console.log(row('REST launch cycle (create, start, exit, remove)', ...cycles));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
