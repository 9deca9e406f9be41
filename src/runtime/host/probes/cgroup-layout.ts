// Pure parsing of /proc/self/mountinfo and /proc/self/cgroup, kept apart from the probe's I/O
// so the v1 / v2 / hybrid classification can be tested on fixture text for every layout.

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface CgroupMount {
  fsType: 'cgroup' | 'cgroup2';
  mountPoint: string;
  /** The mount's root inside the hierarchy (not '/' when mounted from inside a cgroup ns). */
  root: string;
  /** v1 controllers bound to this hierarchy (cpu and cpuacct may share one); empty for v2. */
  controllers: string[];
  /** v1 named hierarchies without controllers, e.g. name=systemd. */
  name?: string;
}

export interface CgroupLayout {
  mode: CgroupMode;
  v1: CgroupMount[];
  v2?: CgroupMount;
}

// mountinfo escapes space, tab, newline and backslash as octal (proc(5)).
const unescape = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const left = line.slice(0, sep).split(' ');
    const [fsType, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const opts = superOptions.split(',');
    const name = opts.find((o) => o.startsWith('name='))?.slice('name='.length);
    mounts.push({
      fsType,
      root: unescape(left[3]),
      mountPoint: unescape(left[4]),
      // Super options mix flags (rw, nsdelegate, clone_children…) with controller names;
      // the caller filters against the kernel's controller list from /proc/cgroups.
      controllers:
        fsType === 'cgroup' ? opts.filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('=')) : [],
      ...(name ? { name } : {}),
    });
  }
  return mounts;
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
