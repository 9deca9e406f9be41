import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupError } from './cgroup.errors';

// Block I/O limits name a device by major:minor. Users name it by path, as with
// `docker run --device-write-bps /dev/sda:1mb`; the kernel throttles whole disks only
// (blk-throttle refuses a partition with ENODEV), so a partition stands for its disk.

export interface BlockDevice {
  major: number;
  minor: number;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function splitDev(dev: number | bigint): BlockDevice {
  const d = BigInt(dev);
  return {
    major: Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn)),
    minor: Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn)),
  };
}

/** The whole disk of a block device node; a clear error for anything else. */
export function blockDeviceOf(devicePath: string, sysRoot = '/sys'): BlockDevice {
  let st: fs.Stats;
  try {
    st = fs.statSync(devicePath);
  } catch (err) {
    throw new CgroupError('INVALID_LIMIT', `${devicePath}: no such device on this host`, {}, { cause: err });
  }
  if (!st.isBlockDevice()) throw new CgroupError('INVALID_LIMIT', `${devicePath} is not a block device`);
  return wholeDisk(splitDev(st.rdev), sysRoot);
}

/** The disk a file's filesystem lives on, or undefined when it is on none (tmpfs, overlay of tmpfs…). */
export function diskHolding(file: string, sysRoot = '/sys'): BlockDevice | undefined {
  const dev = splitDev(fs.statSync(file).dev);
  if (!fs.existsSync(path.join(sysRoot, 'dev/block', `${dev.major}:${dev.minor}`))) return undefined;
  return wholeDisk(dev, sysRoot);
}

function wholeDisk(dev: BlockDevice, sysRoot: string): BlockDevice {
  const node = path.join(sysRoot, 'dev/block', `${dev.major}:${dev.minor}`);
  if (!fs.existsSync(path.join(node, 'partition'))) return dev;
  const parent = fs.readFileSync(path.join(fs.realpathSync(node), '..', 'dev'), 'utf8').trim();
  const [major, minor] = parent.split(':').map(Number);
  return { major, minor };
}
