import { join, posix } from 'node:path';
import { CgroupMode } from './cgroup-driver';
import { CgroupError } from './cgroup.errors';
import { CgroupFs, NodeCgroupFs } from './cgroup-fs';

// Where cgroups live is read from the kernel, never assumed: /proc/self/mountinfo says which controller
// is mounted where (and with which root, for a service inside a cgroup namespace or container), and
// /proc/self/cgroup says which cgroup the service itself is in, per hierarchy. Containers go under a
// parent inside the service's own cgroup, so a service confined by its supervisor (here
// memory:/process_api/…) keeps its containers inside that confinement.

/** The v1 controllers the driver uses. freezer makes killAll race-free against forking processes. */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset', 'freezer', 'blkio'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface CgroupHierarchy {
  /** Mount point as seen from the fs root given to detection (already prefixed with it). */
  mountPoint: string;
  /** Controllers co-mounted here (e.g. ["cpu", "cpuacct"] on most distributions). */
  controllers: string[];
  /** The service's own cgroup in this hierarchy, as /proc/self/cgroup reports it. */
  ownPath: string;
  /** Directory of the service's own cgroup. */
  ownDir: string;
}

export interface CgroupLayout {
  /** hybrid = v1 controllers plus a cgroup2 mount (systemd's layout); the v1 driver runs it. */
  mode: 'v1' | 'v2' | 'hybrid';
  driverMode: CgroupMode;
  /** v1 hierarchies by controller (co-mounted controllers share one entry object). */
  v1: Partial<Record<V1Controller, CgroupHierarchy>>;
  unified?: CgroupHierarchy;
}

export interface DetectOptions {
  /** Filesystem root under which /proc/self/* and the mount points are read (tests: a fake tree). */
  root?: string;
  /** mountinfo text instead of <root>/proc/self/mountinfo. */
  mountinfo?: string;
  /** /proc/self/cgroup text instead of <root>/proc/self/cgroup. */
  procSelfCgroup?: string;
  fs?: CgroupFs;
}

export interface CgroupMount {
  mountPoint: string;
  /** The mount's root inside the hierarchy (not '/' when mounted from inside a cgroup ns). */
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1 controllers bound to this hierarchy (cpu and cpuacct may share one); empty for v2. */
  controllers: string[];
  /** v1 named hierarchies without controllers, e.g. name=systemd. */
  name?: string;
}

export async function detectCgroupLayout(options: DetectOptions = {}): Promise<CgroupLayout> {
  const root = options.root ?? '/';
  const fs = options.fs ?? new NodeCgroupFs();
  const mountinfo = options.mountinfo ?? (await fs.read(join(root, 'proc/self/mountinfo')));
  const procCgroup = options.procSelfCgroup ?? (await fs.read(join(root, 'proc/self/cgroup')));
  return layoutFrom(parseMountinfo(mountinfo), parseProcSelfCgroup(procCgroup), root);
}

export function layoutFrom(mounts: CgroupMount[], own: ProcSelfCgroup, root = '/'): CgroupLayout {
  const v1: Partial<Record<V1Controller, CgroupHierarchy>> = {};
  let unified: CgroupHierarchy | undefined;
  for (const m of mounts) {
    if (m.fsType === 'cgroup2') {
      unified ??= hierarchy(m, own.unified ?? '/', root);
      continue;
    }
    const wanted = m.controllers.filter((c): c is V1Controller =>
      (V1_CONTROLLERS as readonly string[]).includes(c),
    );
    if (wanted.length === 0) continue; // name=systemd and friends: no resources to control
    // /proc/self/cgroup lists co-mounted controllers together ("cpu,cpuacct"); any of them finds the path.
    const ownPath = wanted.map((c) => own.v1[c]).find((p) => p !== undefined) ?? '/';
    const h = hierarchy(m, ownPath, root);
    for (const c of wanted) v1[c] ??= h; // the first mount of a controller wins; later ones are bind mounts
  }
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && !unified) {
    throw new CgroupError(
      'UNSUPPORTED',
      'no cgroup or cgroup2 filesystem is mounted (checked /proc/self/mountinfo)',
    );
  }
  const mode = hasV1 ? (unified ? 'hybrid' : 'v1') : 'v2';
  return { mode, driverMode: hasV1 ? 'v1' : 'v2', v1, unified };
}

function hierarchy(m: CgroupMount, ownPath: string, root: string): CgroupHierarchy {
  // Inside a cgroup namespace both files are relative to the namespace root; outside one, a mount whose
  // root is not "/" (a container's view of the host tree) shows only the subtree below that root.
  let relative = ownPath;
  if (m.root !== '/' && (ownPath === m.root || ownPath.startsWith(m.root + '/'))) {
    relative = ownPath.slice(m.root.length) || '/';
  }
  const mountPoint = join(root, m.mountPoint);
  const ownDir = relative === '/' ? mountPoint : posix.join(mountPoint, relative);
  return { mountPoint, controllers: m.controllers, ownPath, ownDir };
}

/**
 * mountinfo lines: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 * (proc(5)); optional fields end at " - ". v1 controllers are in the super options ("rw,cpu,cpuacct").
 */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fsType, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const controllers =
      fsType === 'cgroup'
        ? superOptions.split(',').filter((o) => !NON_CONTROLLER_OPTIONS.has(o.split('=')[0]))
        : [];
    const name = superOptions
      .split(',')
      .find((o) => o.startsWith('name='))
      ?.slice('name='.length);
    mounts.push({
      root: unescape(left[3] ?? '/'),
      mountPoint: unescape(left[4] ?? ''),
      fsType,
      controllers,
      ...(name ? { name } : {}),
    });
  }
  return mounts;
}

const NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'name',
  'none',
  'noprefix',
  'clone_children',
  'xattr',
  'release_agent',
  'cpuset_v2_mode',
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface ProcSelfCgroup {
  v1: Record<string, string>;
  unified?: string;
}

/** /proc/self/cgroup lines: "hierarchy-id:controller-list:path"; v2 is "0::/path" (cgroups(7)). */
export function parseProcSelfCgroup(text: string): ProcSelfCgroup {
  const out: ProcSelfCgroup = { v1: {} };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, list, path] = m;
    if (id === '0' && list === '') out.unified = path;
    else for (const c of list.split(',')) out.v1[c] = path;
  }
  return out;
}
