import { join } from 'node:path';
import { CgroupLimits } from '../cgroup-driver';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { validateCpuList } from '../limits';

// v2 cpuset controller. Unlike v1, empty cpuset.cpus/mems mean "inherit the parent's effective set", so
// nothing needs copying; the controller only has to be enabled when a container asks for a cpuset.

export async function applyCpusetV2(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  for (const [name, file, value] of [
    ['cpusetCpus', 'cpuset.cpus', limits.cpusetCpus],
    ['cpusetMems', 'cpuset.mems', limits.cpusetMems],
  ] as const) {
    if (value === undefined) continue;
    validateCpuList(name, value);
    const path = join(dir, file);
    if (!(await fs.exists(path))) {
      throw new CgroupError(
        'UNSUPPORTED',
        `${name} needs the cpuset controller, which is not enabled at ${dir}`,
        {
          path,
        },
      );
    }
    await fs.write(path, value);
  }
}

export async function readCpusetV2(
  fs: CgroupFs,
  dir: string,
): Promise<{ cpusetCpus: string; cpusetMems: string }> {
  const [cpus, mems] = await Promise.all([
    fs.readOptional(join(dir, 'cpuset.cpus')),
    fs.readOptional(join(dir, 'cpuset.mems')),
  ]);
  return { cpusetCpus: (cpus ?? '').trim(), cpusetMems: (mems ?? '').trim() };
}
