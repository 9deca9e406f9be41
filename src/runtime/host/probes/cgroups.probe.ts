import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import { CGROUP2_SUPER_MAGIC, Syscalls } from '../../../platform/ffi';
import type { DoctorItem, DoctorStatus, ProbeContext } from '../doctor-report';
import {
  CgroupLayout,
  CgroupMount,
  cgroupDir,
  classifyCgroups,
  parseCgroupMounts,
  parseProcCgroups,
  parseSelfCgroup,
} from './cgroup-layout';

/** Without these three Warden cannot enforce the limits policy requires (DESIGN.md, "Limits"). */
export const REQUIRED_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
const V1_SHOWN = ['memory', 'cpu', 'pids', 'cpuacct', 'cpuset', 'devices', 'freezer', 'blkio'];
const V2_SHOWN = ['memory', 'cpu', 'pids', 'cpuset', 'io'];

// What each v1 controller gives containers when usable, and what is lost when it is not.
const V1_USE: Record<string, { ok: string; lost: string }> = {
  memory: { ok: 'memory limits and OOM-kill detection enforced', lost: 'no memory limits' },
  cpu: { ok: 'CPU quota/period and shares enforced', lost: 'no CPU limits' },
  pids: { ok: 'pids limit enforced', lost: 'no pids limit (fork bombs reach the host)' },
  cpuacct: { ok: 'CPU time accounted for usage records', lost: 'no CPU usage in usage records' },
  cpuset: { ok: 'cpuset pinning available', lost: 'no cpuset pinning' },
  devices: { ok: 'device access allowlist available', lost: 'no device access allowlist' },
  freezer: { ok: 'pause/unpause available', lost: 'no pause/unpause' },
  blkio: { ok: 'block I/O weights available', lost: 'no block I/O weights' },
};

interface Usability {
  usable: boolean;
  /** The cgroup the probe child was created under. */
  at?: string;
  files: string[];
  error?: string;
}

/**
 * The real test of a hierarchy: create a child cgroup and remove it again. Tried first under
 * the service's own cgroup (where it may be confined, e.g. memory:/process_api/…), then at
 * the mount root; which one worked is reported, since containers are placed accordingly.
 */
async function tryChild(dirs: string[]): Promise<Usability> {
  let error = '';
  for (const dir of [...new Set(dirs)]) {
    const probe = `${dir}/warden-doctor-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(probe);
    } catch (err) {
      error = `mkdir ${probe}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      continue;
    }
    try {
      return { usable: true, at: dir, files: await readdir(probe) };
    } finally {
      // The kernel removes the control files with the directory; rmdir is the only cleanup.
      await rmdir(probe).catch(() => undefined);
    }
  }
  return { usable: false, files: [], error };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function probeV1Mount(mount: CgroupMount, self: Map<string, string>): Promise<DoctorItem[]> {
  const own = self.get(mount.controllers[0]) ?? '/';
  const u = await tryChild([cgroupDir(mount, own), mount.mountPoint]);
  const items: DoctorItem[] = [];
  for (const c of mount.controllers.filter((x) => V1_SHOWN.includes(x))) {
    const required = (REQUIRED_CONTROLLERS as readonly string[]).includes(c);
    const hasFiles = u.files.some((f) => f.startsWith(`${c}.`));
    let status: DoctorStatus = u.usable && hasFiles ? 'ok' : 'missing';
    let meaning = u.usable ? V1_USE[c].ok : `cannot create cgroups here: ${V1_USE[c].lost}`;
    // Kernel config can drop single features while the controller still mounts.
    if (c === 'cpu' && u.usable && !u.files.includes('cpu.cfs_quota_us')) {
      status = 'warn';
      meaning = 'no cpu.cfs_quota_us (CFS bandwidth off): only CPU shares, no hard CPU cap';
    }
    if (c === 'memory' && u.usable && !u.files.includes('memory.memsw.limit_in_bytes')) {
      status = 'warn';
      meaning = 'no swap accounting (memsw): memory cap holds but containers may swap beyond it';
    }
    items.push({
      id: `cgroup.v1.${c}`,
      label: `cgroup v1 ${c}`,
      status,
      value: u.usable ? `usable at ${u.at}` : u.error!,
      meaning,
      required,
      detail: { mountPoint: mount.mountPoint, cgroup: own, probedAt: u.at ?? null, usable: u.usable },
    });
  }
  return items;
}

async function probeV2(
  layout: CgroupLayout,
  self: Map<string, string>,
  sys: Syscalls,
): Promise<DoctorItem[]> {
  const mount = layout.v2!;
  const magicOk = sys.statfsType(mount.mountPoint) === CGROUP2_SUPER_MAGIC;
  const own = cgroupDir(mount, self.get('') ?? '/');
  const available = (await readFile(`${own}/cgroup.controllers`, 'utf8').catch(() => ''))
    .split(/\s+/)
    .filter(Boolean);
  const u = await tryChild([own, mount.mountPoint]);
  // A child's cgroup.controllers lists what its parent delegates (cgroup.subtree_control).
  const delegated = u.usable
    ? (await readFile(`${u.at}/cgroup.subtree_control`, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean)
    : [];
  const detail = { mountPoint: mount.mountPoint, cgroup: own, available, delegated, statfsCgroup2: magicOk };

  if (layout.mode === 'hybrid') {
    // In hybrid mode the controllers Warden needs are bound to v1; the v2 tree only tracks.
    return [
      {
        id: 'cgroup.v2',
        label: 'cgroup v2 tree',
        status: magicOk ? 'ok' : 'warn',
        value: `${mount.mountPoint}: ${available.length ? available.join(' ') : 'no controllers'}`,
        meaning: 'hybrid: limits use the v1 hierarchies; the v2 tree is not used for limits',
        required: false,
        detail,
      },
    ];
  }
  const items: DoctorItem[] = [];
  for (const c of V2_SHOWN) {
    const required = (REQUIRED_CONTROLLERS as readonly string[]).includes(c);
    const has = available.includes(c);
    items.push({
      id: `cgroup.v2.${c}`,
      label: `cgroup v2 ${c}`,
      status: has && u.usable ? 'ok' : 'missing',
      required,
      value: !u.usable ? u.error! : has ? `available at ${own}` : 'not available',
      meaning: has
        ? delegated.includes(c)
          ? `${c} limits enforced`
          : `${c} available; Warden enables it in its parent cgroup's subtree_control`
        : `${c} not delegated to this cgroup: no ${c} limits`,
      detail,
    });
  }
  return items;
}

function modeItem(layout: CgroupLayout, controllerItems: DoctorItem[], rootFsMagic: number): DoctorItem {
  const usable = REQUIRED_CONTROLLERS.filter((c) =>
    controllerItems.some((i) => i.id.endsWith(`.${c}`) && i.status !== 'missing'),
  );
  const driver = layout.mode === 'v2' ? 'v2' : 'v1';
  const missing = REQUIRED_CONTROLLERS.filter((c) => !usable.includes(c));
  return {
    id: 'cgroup.mode',
    label: 'cgroup mode',
    status: layout.mode === 'none' ? 'missing' : missing.length ? 'missing' : 'ok',
    value: layout.mode,
    meaning:
      layout.mode === 'none'
        ? 'no cgroup filesystem mounted: no resource limits, containers cannot start'
        : `cgroup ${layout.mode}: ${driver} driver used; ${usable.join(', ') || 'no'} limits enforced` +
          (missing.length ? `; ${missing.join(', ')} missing` : ''),
    required: true,
    detail: {
      driver: layout.mode === 'none' ? null : driver,
      sysFsCgroupIsCgroup2: rootFsMagic === CGROUP2_SUPER_MAGIC,
      v1Mounts: layout.v1.map((m) => `${m.mountPoint}=${m.controllers.join(',') || m.name || ''}`),
      v2Mount: layout.v2?.mountPoint ?? null,
    },
  };
}

export async function probeCgroups({ syscalls }: ProbeContext): Promise<DoctorItem[]> {
  const [mountinfo, procCgroups, selfCgroup] = await Promise.all(
    ['/proc/self/mountinfo', '/proc/cgroups', '/proc/self/cgroup'].map((p) => readFile(p, 'utf8')),
  );
  const layout = classifyCgroups(parseCgroupMounts(mountinfo), parseProcCgroups(procCgroups));
  const self = parseSelfCgroup(selfCgroup);
  // statfs, not just mountinfo: on pure v2 /sys/fs/cgroup itself carries the cgroup2 magic.
  const rootMagic = (await exists('/sys/fs/cgroup')) ? syscalls.statfsType('/sys/fs/cgroup') : 0;

  const v1Items = (
    await Promise.all(layout.v1.filter((m) => m.controllers.length).map((m) => probeV1Mount(m, self)))
  ).flat();
  const v2Items = layout.v2 ? await probeV2(layout, self, syscalls) : [];
  const controllerItems = layout.mode === 'v2' ? v2Items : v1Items;
  if (layout.mode !== 'v2') {
    // A required v1 controller that is not mounted at all still gets a row saying so.
    for (const c of REQUIRED_CONTROLLERS) {
      if (!v1Items.some((i) => i.id === `cgroup.v1.${c}`)) {
        v1Items.push({
          id: `cgroup.v1.${c}`,
          label: `cgroup v1 ${c}`,
          status: 'missing',
          value: 'not mounted',
          meaning: `no ${c} hierarchy mounted: ${V1_USE[c].lost}`,
          required: true,
        });
      }
    }
  }
  return [modeItem(layout, controllerItems, rootMagic), ...v1Items, ...v2Items];
}
