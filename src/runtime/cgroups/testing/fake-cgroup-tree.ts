import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeFeatures } from './fake-cgroup-files';
import { FakeCgroupFs, FakeMount } from './fake-cgroup-fs';

// Builds a whole fake machine root in a temp dir: proc/self/mountinfo, proc/self/cgroup and the cgroup
// mounts under sys/fs/cgroup, so detection and drivers run unchanged with `root` pointed at it.

export interface FakeTreeOptions {
  mode: 'v1' | 'v2' | 'hybrid';
  /** v1: co-mount cpu and cpuacct (most distributions) instead of separate mounts (this machine). */
  coMountCpu?: boolean;
  /** The service's own cgroup per controller (v1) or "unified" (v2); "/" where not given. */
  ownPaths?: Record<string, string>;
  features?: Partial<FakeFeatures>;
}

export interface FakeCgroupTree {
  root: string;
  fs: FakeCgroupFs;
  cleanup(): Promise<void>;
}

export async function buildFakeCgroupTree(options: FakeTreeOptions): Promise<FakeCgroupTree> {
  const root = await fsp.mkdtemp(join(tmpdir(), 'warden-fake-cgroup-'));
  const fs = new FakeCgroupFs({
    swapAccounting: true,
    memoryPeak: true,
    cgroupKill: true,
    ...options.features,
  });
  const own = options.ownPaths ?? {};
  const mountinfo: string[] = [
    '23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  ];
  const procCgroup: string[] = [];
  const mounts: { point: string; kind: 'v1' | 'v2'; controllers: string[] }[] = [];

  if (options.mode === 'v2') {
    mounts.push({
      point: '/sys/fs/cgroup',
      kind: 'v2',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
    });
  } else {
    const groups = options.coMountCpu
      ? [['cpu', 'cpuacct'], ['cpuset'], ['memory'], ['devices'], ['freezer'], ['pids'], ['blkio']]
      : [['cpu'], ['cpuacct'], ['cpuset'], ['memory'], ['devices'], ['freezer'], ['pids'], ['blkio']];
    for (const g of groups)
      mounts.push({ point: `/sys/fs/cgroup/${g.join(',')}`, kind: 'v1', controllers: g });
    if (options.mode === 'hybrid')
      mounts.push({ point: '/sys/fs/cgroup/unified', kind: 'v2', controllers: [] });
  }

  let id = 32;
  let hierarchyId = mounts.length;
  for (const m of mounts) {
    const options = m.kind === 'v1' ? `rw,${m.controllers.join(',')}` : 'rw';
    mountinfo.push(
      `${id} 31 0:${id - 3} / ${m.point} rw,relatime - ${m.kind === 'v1' ? 'cgroup cgroup' : 'cgroup2 cgroup2'} ${options}`,
    );
    id++;
    if (m.kind === 'v1')
      procCgroup.push(`${hierarchyId--}:${m.controllers.join(',')}:${own[m.controllers[0]] ?? '/'}`);
    else procCgroup.push(`0::${own.unified ?? '/'}`);
    await fs.addMount({
      dir: join(root, m.point),
      kind: m.kind,
      controllers: m.controllers,
    } satisfies FakeMount);
  }
  if (options.mode !== 'v2')
    mountinfo.push(`${id} 31 0:${id - 3} / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd`);

  // The service's own cgroups exist before the driver runs (its supervisor made them).
  for (const m of fs.mounts) {
    const ownPath = m.kind === 'v2' ? own.unified : own[m.controllers[0]];
    if (!ownPath || ownPath === '/') continue;
    let dir = m.dir;
    for (const segment of ownPath.split('/').filter(Boolean)) {
      dir = join(dir, segment);
      await fs.mkdir(dir);
    }
  }

  await fsp.mkdir(join(root, 'proc/self'), { recursive: true });
  await fsp.writeFile(join(root, 'proc/self/mountinfo'), mountinfo.join('\n') + '\n');
  await fsp.writeFile(join(root, 'proc/self/cgroup'), procCgroup.join('\n') + '\n');
  return { root, fs, cleanup: () => fsp.rm(root, { recursive: true, force: true }) };
}
