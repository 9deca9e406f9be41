// Pure parsing of /proc/self/mountinfo and /proc/self/cgroup, kept apart from the probe's I/O
// so the v1 / v2 / hybrid classification can be tested on fixture text for every layout.

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

// One mountinfo parser for the driver and the doctor: the driver's.
export { parseMountinfo as parseCgroupMounts } from '../../cgroups/detect-cgroup-mode';
export type { CgroupMount } from '../../cgroups/detect-cgroup-mode';
import type { CgroupMount } from '../../cgroups/detect-cgroup-mode';

export interface CgroupLayout {
  mode: CgroupMode;
  v1: CgroupMount[];
  v2?: CgroupMount;
}

/** Controller names the kernel knows and has enabled (4th column of /proc/cgroups). */
export function parseProcCgroups(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/))
    .filter((cols) => cols[3] === '1')
    .map((cols) => cols[0]);
}

export function classifyCgroups(mounts: CgroupMount[], knownControllers: string[]): CgroupLayout {
  const v1 = mounts
    .filter((m) => m.fsType === 'cgroup')
    .map((m) => ({ ...m, controllers: m.controllers.filter((c) => knownControllers.includes(c)) }));
  // The first cgroup2 mount is the one the kernel's /proc/self/cgroup "0::" line refers to.
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  const v1WithControllers = v1.some((m) => m.controllers.length > 0);
  const mode: CgroupMode = v1WithControllers ? (v2 ? 'hybrid' : 'v1') : v2 ? 'v2' : 'none';
  return { mode, v1, ...(v2 ? { v2 } : {}) };
}

/**
 * /proc/self/cgroup → where this process sits in each hierarchy: controller (or '' for v2,
 * or 'name=systemd') → path.
 */
export function parseSelfCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1] === '' ? [''] : m[1].split(',')) paths.set(c, m[2]);
  }
  return paths;
}

/** The directory of `cgroupPath` under a mount whose hierarchy root is `mount.root`. */
export function cgroupDir(mount: CgroupMount, cgroupPath: string): string {
  const inside = mount.root !== '/' && (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`));
  const rel = inside ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return `${mount.mountPoint.replace(/\/$/, '')}/${rel.replace(/^\/+/, '')}`.replace(/\/$/, '') || '/';
}
