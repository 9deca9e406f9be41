import type { IOType } from 'node:child_process';
import { openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Syscalls } from '../../platform/ffi';
import { SHIM_CONTROL_FD } from './shim-protocol';

/** What each of the container's fds 0-2 is: a pipe back to us, nothing, or an open fd. */
export type StdioEntry = Extract<IOType, 'pipe' | 'ignore'> | number;

export interface SpawnedShim {
  pid: number;
  /** Our ends of fds 0-4 of the shim; null where the entry was not 'pipe'. */
  stdio: Array<Socket | null>;
  kill(): void;
  /** Resolves once the shim is reaped (its pidfd closed); never rejects. */
  reaped: Promise<void>;
}

/**
 * Starts the shim with posix_spawn rather than child_process.spawn: libuv forks, and forking
 * this ~200 MB process cost 2-4 ms of blocked event loop per launch here, against ~0.3 ms for
 * posix_spawn's vfork-style clone. The shim is then not libuv's child: it is reaped here,
 * through a pidfd, once its status fd has closed. It gets no environment: it needs none, and
 * a long-lived waiter should not carry the service's secrets in /proc/<pid>/environ.
 */
export function spawnShim(sys: Syscalls, shimPath: string, stdio: StdioEntry[]): SpawnedShim {
  const ours: Array<number | null> = [];
  const theirs: number[] = [];
  const closeAfter: number[] = [];
  const closeAll = (fds: Array<number | null>) => {
    for (const fd of fds) if (fd !== null) sys.close(fd);
  };
  let pid: number;
  let pidfd: number;
  try {
    for (const entry of stdio) {
      if (entry === 'pipe') {
        const [mine, child] = sys.socketpair();
        ours.push(mine);
        closeAfter.push(child);
        theirs.push(child);
      } else if (entry === 'ignore') {
        const devnull = openSync('/dev/null', 'r+'); // libuv opens with O_CLOEXEC
        ours.push(null);
        closeAfter.push(devnull);
        theirs.push(devnull);
      } else {
        ours.push(null);
        theirs.push(entry);
      }
    }
    pid = sys.spawn(shimPath, [shimPath], [], theirs, { setsid: true });
    // Cannot race a reuse of the pid: nobody but us reaps this child.
    pidfd = sys.pidfdOpen(pid);
  } catch (err) {
    closeAll(ours);
    throw err;
  } finally {
    closeAll(closeAfter);
  }
  const sockets = ours.map((fd, i) =>
    fd === null
      ? null
      : new Socket({
          fd,
          readable: i !== 0 && i !== SHIM_CONTROL_FD,
          writable: i === 0 || i === SHIM_CONTROL_FD,
        }),
  );
  let reaped = false;
  const reap = (resolve: () => void, attempt = 0) => {
    // The status fd closes as the shim exits, a moment before it can be waited for: a few
    // turns of the loop are usually enough; a shim that takes longer is checked less often.
    if (!reaped && sys.waitPidfd(pidfd) === null) {
      const again = () => reap(resolve, attempt + 1);
      if (attempt < 3) setImmediate(again);
      else setTimeout(again, Math.min(2 ** (attempt - 3), 100));
      return;
    }
    if (!reaped) sys.close(pidfd);
    reaped = true;
    resolve();
  };
  let reaping: Promise<void> | undefined;
  return {
    pid,
    stdio: sockets,
    kill: () => {
      if (reaped) return;
      try {
        sys.pidfdSendSignal(pidfd, 'SIGKILL');
      } catch {
        /* already exiting */
      }
    },
    get reaped() {
      return (reaping ??= new Promise<void>((resolve) => reap(resolve)));
    },
  };
}
