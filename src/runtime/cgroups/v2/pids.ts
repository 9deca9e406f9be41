import { join } from 'node:path';
import { CgroupStats } from '../cgroup-driver';
import { CgroupFs, parseLimit } from '../cgroup-fs';
import { pidsMax } from '../limits';

// v2 pids controller: same files as v1 (pids.max, pids.current).

export async function applyPidsV2(fs: CgroupFs, dir: string, pidsLimit: number | undefined): Promise<void> {
  if (pidsLimit !== undefined) await fs.write(join(dir, 'pids.max'), pidsMax(pidsLimit));
}

export async function readPidsLimitV2(fs: CgroupFs, dir: string): Promise<number> {
  return parseLimit(await fs.read(join(dir, 'pids.max')));
}

export async function pidsStatsV2(fs: CgroupFs, dir: string): Promise<CgroupStats['pids']> {
  const [current, limit] = await Promise.all([fs.read(join(dir, 'pids.current')), readPidsLimitV2(fs, dir)]);
  return { current: Number(current.trim()), limit };
}
