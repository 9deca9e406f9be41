import { join } from 'node:path';
import { CgroupLimits } from '../cgroup-driver';
import { CgroupFs } from '../cgroup-fs';
import { validateCpuList } from '../limits';

// v1 cpuset controller. A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems (unless the
// parent has cgroup.clone_children=1), and the kernel refuses to attach tasks to it (ENOSPC) until both
// are set. So every directory the driver creates copies them from its parent before anything joins.

export async function inheritCpusetV1(fs: CgroupFs, dir: string, parentDir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = (await fs.read(join(dir, file))).trim();
    if (own !== '') continue;
    const inherited = (await fs.read(join(parentDir, file))).trim();
    await fs.write(join(dir, file), inherited);
  }
}

export async function applyCpusetV1(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  if (limits.cpusetCpus !== undefined) {
    validateCpuList('cpusetCpus', limits.cpusetCpus);
    await fs.write(join(dir, 'cpuset.cpus'), limits.cpusetCpus);
  }
  if (limits.cpusetMems !== undefined) {
    validateCpuList('cpusetMems', limits.cpusetMems);
    await fs.write(join(dir, 'cpuset.mems'), limits.cpusetMems);
  }
}

export async function readCpusetV1(
  fs: CgroupFs,
  dir: string,
): Promise<{ cpusetCpus: string; cpusetMems: string }> {
  const [cpus, mems] = await Promise.all([
    fs.read(join(dir, 'cpuset.cpus')),
    fs.read(join(dir, 'cpuset.mems')),
  ]);
  return { cpusetCpus: cpus.trim(), cpusetMems: mems.trim() };
}
