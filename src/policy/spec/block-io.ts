import { posix } from 'node:path';
import { z } from 'zod';
import { text } from '../../platform/http';
import { formatBytes, parseByteSize } from './units';

/**
 * Block I/O limits as a launch asks for them (`docker run --blkio-weight`, `--device-read-bps`,
 * `--device-write-bps`, `--device-read-iops`, `--device-write-iops`): a relative weight and
 * per-device throttles named by the device's path on the host. The runtime turns the paths into
 * the kernel's major:minor when it creates the cgroup.
 */
export interface BlkioDeviceSpec {
  path: string;
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
}

export interface BlkioSpec {
  /** 10..1000, Docker's BlkioWeight */
  weight?: number;
  devices: BlkioDeviceSpec[];
}

export const BLKIO_RATES = ['readBps', 'writeBps', 'readIops', 'writeIops'] as const;
export type BlkioRate = (typeof BLKIO_RATES)[number];

/** The launch request's field for each rate (REST), as the docker CLI flag names it. */
const REQUEST_FIELD = {
  readBps: 'deviceReadBps',
  writeBps: 'deviceWriteBps',
  readIops: 'deviceReadIops',
  writeIops: 'deviceWriteIops',
} as const satisfies Record<BlkioRate, string>;

// Far above any device; a larger number is a missing unit, not a request.
const MAX_BPS = 1024 ** 4;
const MAX_IOPS = 100_000_000;

const deviceRate = <T extends z.ZodType>(rate: T) =>
  z.array(z.strictObject({ path: text(4096), rate }), { error: 'must be [{path, rate}, ...]' }).max(64);
const byteRate = z.union([z.number(), z.string()], { error: 'must be bytes or a rate such as 1m' });
const opsRate = z.number({ error: 'must be operations per second' }).int();

export const blkioRequestFields = {
  blkioWeight: z.number().int().optional(),
  deviceReadBps: deviceRate(byteRate).optional(),
  deviceWriteBps: deviceRate(byteRate).optional(),
  deviceReadIops: deviceRate(opsRate).optional(),
  deviceWriteIops: deviceRate(opsRate).optional(),
};

type BlkioRequest = {
  blkioWeight?: number;
  deviceReadBps?: Array<{ path: string; rate: number | string }>;
  deviceWriteBps?: Array<{ path: string; rate: number | string }>;
  deviceReadIops?: Array<{ path: string; rate: number }>;
  deviceWriteIops?: Array<{ path: string; rate: number }>;
};

/** The request's block I/O fields as one spec part; undefined when it asks for none. */
export function convertBlkio(req: BlkioRequest, errors: string[]): BlkioSpec | undefined {
  const out: BlkioSpec = { devices: [] };
  if (req.blkioWeight !== undefined && req.blkioWeight !== 0) {
    if (req.blkioWeight < 10 || req.blkioWeight > 1000)
      errors.push(`blkioWeight: ${req.blkioWeight} must be from 10 to 1000 (0 = unset)`);
    else out.weight = req.blkioWeight;
  }
  const byPath = new Map<string, BlkioDeviceSpec>();
  for (const rate of BLKIO_RATES) {
    const field = REQUEST_FIELD[rate];
    (req[field] ?? []).forEach((entry, i) => {
      const where = `${field}[${i}]`;
      const path = entry.path;
      if (!path.startsWith('/dev/') || posix.normalize(path) !== path) {
        errors.push(`${where}.path: ${JSON.stringify(path)} must be a device path such as /dev/sda`);
        return;
      }
      const bytes = rate.endsWith('Bps');
      const value = bytes ? parseByteSize(entry.rate) : entry.rate;
      const max = bytes ? MAX_BPS : MAX_IOPS;
      if (value === undefined || typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
        errors.push(
          `${where}.rate: ${JSON.stringify(entry.rate)} must be a positive ${bytes ? 'rate such as 1m (bytes per second)' : 'number of operations per second'}`,
        );
      else if (value > max)
        errors.push(
          `${where}.rate: ${bytes ? formatBytes(value) : value} is above the maximum ${bytes ? formatBytes(max) : max}`,
        );
      else {
        const d = byPath.get(path) ?? { path };
        if (d[rate] !== undefined) errors.push(`${where}: ${path} is given twice`);
        d[rate] = value;
        byPath.set(path, d);
      }
    });
  }
  out.devices = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  return out.weight === undefined && out.devices.length === 0 ? undefined : out;
}
