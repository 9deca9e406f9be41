import { BLKIO_THROTTLES, BlkioLimits, DeviceRate, IoStats } from './cgroup-driver';
import { CgroupError } from './cgroup.errors';

// Version-independent parts of block I/O limits: validation and the per-device tallies both
// drivers fill from their own stat files.

/** Docker's BlkioWeight range (0 = unset is dropped before it gets here). */
export const MIN_BLKIO_WEIGHT = 10;
export const MAX_BLKIO_WEIGHT = 1000;

export function validateBlkio(b: BlkioLimits): void {
  if (
    b.weight !== undefined &&
    !(Number.isInteger(b.weight) && b.weight >= MIN_BLKIO_WEIGHT && b.weight <= MAX_BLKIO_WEIGHT)
  )
    throw new CgroupError('INVALID_LIMIT', `blkio weight ${b.weight} must be an integer from 10 to 1000`);
  for (const kind of BLKIO_THROTTLES)
    for (const d of b[kind] ?? [])
      if (![d.major, d.minor, d.rate].every((n) => Number.isSafeInteger(n) && n >= 0) || d.rate === 0)
        throw new CgroupError(
          'INVALID_LIMIT',
          `${kind} ${d.major}:${d.minor} ${d.rate} must be a positive rate on a major:minor device`,
        );
}

export const deviceKey = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

/** "8:0 1048576" lines (v1 throttle files) → rates; a rate of 0 means no throttle there. */
export function parseDeviceRates(text: string): DeviceRate[] {
  const out: DeviceRate[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(\d+)$/.exec(line.trim());
    if (m && Number(m[3]) > 0) out.push({ major: Number(m[1]), minor: Number(m[2]), rate: Number(m[3]) });
  }
  return out;
}

type DeviceIo = IoStats['devices'][number];

/** Adds per-device numbers up into the cgroup's totals. */
export function ioTotals(byDevice: Map<string, DeviceIo>): IoStats {
  const devices = [...byDevice.values()].sort((a, b) => a.major - b.major || a.minor - b.minor);
  const sum = (k: 'readBytes' | 'writeBytes' | 'readOps' | 'writeOps') =>
    devices.reduce((n, d) => n + d[k], 0);
  return {
    readBytes: sum('readBytes'),
    writeBytes: sum('writeBytes'),
    readOps: sum('readOps'),
    writeOps: sum('writeOps'),
    devices,
  };
}

export function deviceEntry(byDevice: Map<string, DeviceIo>, major: number, minor: number): DeviceIo {
  const key = `${major}:${minor}`;
  let d = byDevice.get(key);
  if (!d) byDevice.set(key, (d = { major, minor, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 }));
  return d;
}
