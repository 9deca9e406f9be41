import { join } from 'node:path';
import { BLKIO_THROTTLES, BlkioLimits, BlkioThrottle, IoStats } from '../cgroup-driver';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { deviceEntry, ioTotals, parseDeviceRates, validateBlkio } from '../blkio';

// v1 blkio controller. Throttles are the blk-throttle files, one "major:minor rate" per write;
// they hold whatever the device's scheduler. The weight file depends on the kernel: CFQ's
// blkio.weight is gone from multi-queue kernels, where BFQ offers blkio.bfq.weight (it only
// takes effect on devices whose scheduler is bfq, as Docker's documentation says of weights).

const THROTTLE_FILE: Record<BlkioThrottle, string> = {
  readBps: 'blkio.throttle.read_bps_device',
  writeBps: 'blkio.throttle.write_bps_device',
  readIops: 'blkio.throttle.read_iops_device',
  writeIops: 'blkio.throttle.write_iops_device',
};

export async function applyBlkioV1(
  fs: CgroupFs,
  dir: string | undefined,
  b: BlkioLimits | undefined,
): Promise<void> {
  if (!b) return;
  validateBlkio(b);
  if (!dir)
    throw new CgroupError(
      'UNSUPPORTED',
      'the v1 blkio controller is not mounted on this host: block I/O limits cannot be applied',
    );
  if (b.weight !== undefined) await fs.write(await weightFile(fs, dir), String(b.weight));
  for (const kind of BLKIO_THROTTLES)
    for (const d of b[kind] ?? [])
      await fs.write(join(dir, THROTTLE_FILE[kind]), `${d.major}:${d.minor} ${d.rate}`);
}

async function weightFile(fs: CgroupFs, dir: string): Promise<string> {
  for (const f of ['blkio.weight', 'blkio.bfq.weight'])
    if (await fs.exists(join(dir, f))) return join(dir, f);
  throw new CgroupError(
    'UNSUPPORTED',
    "this host's kernel offers no block I/O weight (neither blkio.weight nor blkio.bfq.weight): leave the weight out",
  );
}

export async function readBlkioV1(fs: CgroupFs, dir: string): Promise<BlkioLimits> {
  const out: BlkioLimits = {};
  for (const kind of BLKIO_THROTTLES) {
    const rates = parseDeviceRates(await fs.read(join(dir, THROTTLE_FILE[kind])));
    if (rates.length) out[kind] = rates;
  }
  for (const f of ['blkio.weight', 'blkio.bfq.weight'])
    if (await fs.exists(join(dir, f))) {
      // bfq.weight reads "default 100" on newer kernels, a bare number on older ones.
      const m = /(\d+)\s*$/.exec((await fs.read(join(dir, f))).split('\n')[0]);
      if (m) out.weight = Number(m[1]);
      break;
    }
  return out;
}

/**
 * Bytes and operations from the blk-throttle tallies ("8:0 Read 4096" lines), which count every
 * bio the cgroup submits whatever the scheduler; _recursive so exec'd children's count too.
 */
export async function ioStatsV1(fs: CgroupFs, dir: string): Promise<IoStats> {
  const [bytes, ops] = await Promise.all([
    fs.read(join(dir, 'blkio.throttle.io_service_bytes_recursive')),
    fs.read(join(dir, 'blkio.throttle.io_serviced_recursive')),
  ]);
  const byDevice = new Map<string, IoStats['devices'][number]>();
  const add = (text: string, read: 'readBytes' | 'readOps', write: 'writeBytes' | 'writeOps') => {
    for (const line of text.split('\n')) {
      const m = /^(\d+):(\d+)\s+(Read|Write)\s+(\d+)$/.exec(line.trim());
      if (!m) continue;
      const d = deviceEntry(byDevice, Number(m[1]), Number(m[2]));
      d[m[3] === 'Read' ? read : write] += Number(m[4]);
    }
  };
  add(bytes, 'readBytes', 'writeBytes');
  add(ops, 'readOps', 'writeOps');
  return ioTotals(byDevice);
}
