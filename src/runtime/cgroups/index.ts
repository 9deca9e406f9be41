// The cgroups part of the runtime, used by the rest of runtime/ through this file only.
import { CgroupDriver } from './cgroup-driver';
import { CgroupError } from './cgroup.errors';
import { CgroupFs, NodeCgroupFs } from './cgroup-fs';
import { detectCgroupLayout } from './detect-cgroup-mode';
import { V1CgroupDriver } from './v1/v1-driver';
import { V2CgroupDriver } from './v2/v2-driver';

export * from './cgroup-driver';
export { CgroupError } from './cgroup.errors';
export type { CgroupErrorCode } from './cgroup.errors';
export { NodeCgroupFs } from './cgroup-fs';
export type { CgroupFs } from './cgroup-fs';
export { detectCgroupLayout } from './detect-cgroup-mode';
export type { CgroupHierarchy, CgroupLayout } from './detect-cgroup-mode';
export { sharesToWeight } from './limits';
export { blockDeviceOf, diskHolding, splitDev } from './block-device';
export type { BlockDevice } from './block-device';
export { blkioWeightToIoWeight } from './v2/io';
export { V1CgroupDriver } from './v1/v1-driver';
export { V2CgroupDriver } from './v2/v2-driver';

export const DEFAULT_CGROUP_PARENT = 'warden';

export interface CreateCgroupDriverOptions {
  /** Filesystem root for /proc/self/* and the cgroup mounts; "/" in production, a fake tree in tests. */
  root?: string;
  /** Parent cgroup of every container, in every hierarchy (default "warden"). */
  parentName?: string;
  /** mountinfo text instead of reading <root>/proc/self/mountinfo. */
  mountinfo?: string;
  /** /proc/self/cgroup text instead of reading <root>/proc/self/cgroup. */
  procSelfCgroup?: string;
  fs?: CgroupFs;
}

/** Detects the layout and returns the matching driver; hybrid (v1 controllers + cgroup2) runs the v1 driver. */
export async function createCgroupDriver(options: CreateCgroupDriverOptions = {}): Promise<CgroupDriver> {
  const fs = options.fs ?? new NodeCgroupFs();
  const layout = await detectCgroupLayout({ ...options, fs });
  const parentName = options.parentName ?? DEFAULT_CGROUP_PARENT;
  if (layout.driverMode === 'v1') {
    return new V1CgroupDriver({ hierarchies: layout.v1, parentName, fs });
  }
  if (!layout.unified) throw new CgroupError('UNSUPPORTED', 'no cgroup2 mount found for the v2 driver');
  return new V2CgroupDriver({ hierarchy: layout.unified, parentName, fs });
}
