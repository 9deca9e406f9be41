import type { CgroupHandle } from '../cgroups';
import { errnoOf } from '../cgroups/cgroup.errors';
import type { Syscalls } from '../../platform/ffi';

/**
 * -1 when the process already exited: a short command can finish (and the shim reap it)
 * before we get here. Its exit status still arrives through the shim; signals are moot.
 */
export function openPidfd(sys: Syscalls, pid: number): number {
  try {
    return sys.pidfdOpen(pid);
  } catch (err) {
    if ((err as { code?: string }).code === 'ESRCH') return -1;
    throw err;
  }
}

/** Signals exactly the container's PID 1; a process already gone is not an error (its exit is on its way). */
export function signalPid(sys: Syscalls, pidfd: number, signal: NodeJS.Signals): void {
  if (pidfd < 0) return;
  try {
    sys.pidfdSendSignal(pidfd, signal);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ESRCH') throw err;
  }
}

/**
 * Signals every process in the cgroup. A cgroup that disappears under us (the process exited
 * and its exit handling removed it: `freezer.state: ENOENT` on v1) means everything in it is
 * gone already, which is what a kill wants: not an error.
 */
export async function killCgroup(cgroup: CgroupHandle, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  try {
    await cgroup.killAll(signal);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === 'ESRCH' || errno === 'ENODEV') return;
    throw err;
  }
}
