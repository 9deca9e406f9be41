import { join } from 'node:path';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { sleep } from '../limits';

// v1 freezer controller (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). Writing FROZEN starts
// freezing; freezer.state reads FREEZING until every task is stopped, so callers poll for FROZEN.

export async function setFreezerStateV1(
  fs: CgroupFs,
  dir: string,
  state: 'FROZEN' | 'THAWED',
  timeoutMs = 2000,
): Promise<void> {
  const file = join(dir, 'freezer.state');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await fs.write(file, state);
    if ((await fs.read(file)).trim() === state) return;
    if (Date.now() > deadline) {
      throw new CgroupError('TIMEOUT', `${file} did not reach ${state} within ${timeoutMs} ms`, {
        path: file,
      });
    }
    await sleep(5);
  }
}
