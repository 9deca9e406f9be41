import { join } from 'node:path';
import { BLKIO_THROTTLES, BlkioLimits, BlkioThrottle, DeviceRate, IoStats } from '../cgroup-driver';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { deviceEntry, deviceKey, ioTotals, validateBlkio } from '../blkio';

// v2 io controller: io.max holds every throttle of a device on one line
// ("8:0 rbps=1048576 wbps=max riops=max wiops=max"); io.weight is 1..10000 (default 100).

const KEY: Record<BlkioThrottle, string> = {
  readBps: 'rbps',
  writeBps: 'wbps',
  readIops: 'riops',
  writeIops: 'wiops',
};

/** Docker's 10..1000 blkio weight onto io.weight's 1..10000, as runc and crun map it. */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

export async function applyIoV2(fs: CgroupFs, dir: string, b: BlkioLimits | undefined): Promise<void> {
  if (!b) return;
  validateBlkio(b);
  if (!(await fs.exists(join(dir, 'io.max'))))
    throw new CgroupError(
      'UNSUPPORTED',
      'the io controller is not enabled for containers on this host: block I/O limits cannot be applied',
    );
  if (b.weight !== undefined) {
    if (!(await fs.exists(join(dir, 'io.weight'))))
      throw new CgroupError(
        'UNSUPPORTED',
        "this host's kernel offers no io.weight: leave the block I/O weight out",
      );
    await fs.write(join(dir, 'io.weight'), `default ${blkioWeightToIoWeight(b.weight)}`);
  }
  const lines = new Map<string, string[]>();
  for (const kind of BLKIO_THROTTLES)
    for (const d of b[kind] ?? []) {
      const key = deviceKey(d);
      lines.set(key, [...(lines.get(key) ?? []), `${KEY[kind]}=${d.rate}`]);
    }
  for (const [key, settings] of lines) await fs.write(join(dir, 'io.max'), `${key} ${settings.join(' ')}`);
}

export async function readIoV2(fs: CgroupFs, dir: string): Promise<BlkioLimits | undefined> {
  if (!(await fs.exists(join(dir, 'io.max')))) return undefined;
  const out: BlkioLimits = {};
  for (const line of (await fs.read(join(dir, 'io.max'))).split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const kind of BLKIO_THROTTLES) {
      const v = new RegExp(`\\b${KEY[kind]}=(\\d+)`).exec(m[3]);
      if (v)
        (out[kind] ??= [] as DeviceRate[]).push({
          major: Number(m[1]),
          minor: Number(m[2]),
          rate: Number(v[1]),
        });
    }
  }
  if (await fs.exists(join(dir, 'io.weight'))) {
    const w = /default\s+(\d+)/.exec(await fs.read(join(dir, 'io.weight')));
    if (w) out.weight = Number(w[1]); // io.weight units (1..10000)
  }
  return out;
}

/** io.stat: "8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…" per device. */
export async function ioStatsV2(fs: CgroupFs, dir: string): Promise<IoStats | null> {
  if (!(await fs.exists(join(dir, 'io.stat')))) return null;
  const byDevice = new Map<string, IoStats['devices'][number]>();
  for (const line of (await fs.read(join(dir, 'io.stat'))).split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const d = deviceEntry(byDevice, Number(m[1]), Number(m[2]));
    const num = (k: string) => Number(new RegExp(`\\b${k}=(\\d+)`).exec(m[3])?.[1] ?? 0);
    d.readBytes += num('rbytes');
    d.writeBytes += num('wbytes');
    d.readOps += num('rios');
    d.writeOps += num('wios');
  }
  return ioTotals(byDevice);
}
