import { join } from 'node:path';
import { CgroupStats } from '../cgroup-driver';
import { CgroupFs, parseLimit } from '../cgroup-fs';
import { pidsMax } from '../limits';

// v1 pids controller: pids.max caps tasks (threads count too), so a fork bomb fails with EAGAIN inside
// the container instead of exhausting the host.

export async function applyPidsV1(fs: CgroupFs, dir: string, pidsLimit: number | undefined): Promise<void> {
  if (pidsLimit !== undefined) await fs.write(join(dir, 'pids.max'), pidsMax(pidsLimit));
}

export async function readPidsLimitV1(fs: CgroupFs, dir: string): Promise<number> {
  return parseLimit(await fs.read(join(dir, 'pids.max')));
}

export async function pidsStatsV1(fs: CgroupFs, dir: string): Promise<CgroupStats['pids']> {
  const [current, limit] = await Promise.all([fs.read(join(dir, 'pids.current')), readPidsLimitV1(fs, dir)]);
  return { current: Number(current.trim()), limit };
}
