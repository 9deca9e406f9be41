import type { IOType } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import {
  encodeShimConfig,
  errnoName,
  ShimMessageDecoder,
  signalName,
  SHIM_CONTROL_FD,
  SHIM_STATUS_FD,
  type ShimConfig,
  type ShimMessage,
} from './shim-protocol';
import { createLibcSyscalls } from '../ffi/libc';
import type { Syscalls } from '../ffi/syscalls';

/**
 * A failure before the container process reached execve, or of the shim itself.
 * `step` is what failed (`mount overlay`, `exec /bin/nope`, `place in cgroups`),
 * `code` the errno name (`ENOENT`), `errno` its number.
 */
export class ShimError extends Error {
  override readonly name = 'ShimError';

  constructor(
    readonly step: string,
    readonly errno: number,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${errnoName(errno)}`, options);
  }

  get code(): string {
    return errnoName(this.errno);
  }
}

/** Docker's convention: a signal death is reported as 128 + signal number (SIGKILL = 137). */
export interface ExitStatus {
  exitCode: number;
  signal: NodeJS.Signals | null;
}

/** What each of the container's fds 0-2 is: a pipe back to us, nothing, or an open fd. */
export type StdioEntry = Extract<IOType, 'pipe' | 'ignore'> | number;

export interface LaunchShimOptions {
  /**
   * Called with the host pid once it exists and before anything runs in it. Without it the
   * shim is told to go with its config (the process joins its cgroups itself: `cgroupTasks`),
   * which saves a round trip through this event loop.
   */
  placeInCgroups?: (pid: number) => Promise<void>;
  /** Default: stdin ignored, stdout and stderr piped. Node's 'pipe' is a socketpair. */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** Default: native/shim/build/warden-shim of this package. */
  shimPath?: string;
  /** Start deadline (cgroup placement included). Default 30 s. */
  timeoutMs?: number;
  /** Default: libc through koffi. */
  syscalls?: Syscalls;
}

export interface LaunchedProcess {
  /** Host pid of the container process (the container's PID 1 in run mode). */
  pid: number;
  /** Host pid of the shim, which stays as the process's parent to relay its exit status. */
  shimPid: number;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Resolves with the real exit status once the process and the shim are both gone;
   * rejects only if the shim itself died without reporting one. */
  exited: Promise<ExitStatus>;
}

const SHIM_GRACE_MS = 5_000;
let defaultShimPath: string | undefined;
let defaultSyscalls: Syscalls | undefined;

/** The binary lives at <package>/native/shim/build; walk up so this works from src/ and dist/. */
export function resolveShimPath(): string {
  if (defaultShimPath) return defaultShimPath;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'native', 'shim', 'build', 'warden-shim');
    if (existsSync(candidate)) return (defaultShimPath = candidate);
    if (dirname(dir) === dir) {
      throw new ShimError('find shim binary (run scripts/build-shim.sh)', osConstants.errno.ENOENT);
    }
  }
}

/**
 * Starts a container process through the init shim and resolves once execve succeeded.
 * Rejects with ShimError on any failure; by then the shim and the process it created are
 * gone (the shim kills and reaps its child when we close the control fd before 'G').
 */
export function launchShim(config: ShimConfig, options: LaunchShimOptions): Promise<LaunchedProcess> {
  let frame: Buffer;
  let shimPath: string;
  try {
    frame = encodeShimConfig(config);
    shimPath = options.shimPath ?? resolveShimPath();
  } catch (err) {
    return Promise.reject(err);
  }

  const sys = options.syscalls ?? (defaultSyscalls ??= createLibcSyscalls());
  let shim: SpawnedShim;
  try {
    // fds 0-2 go to the container; 3 (control) and 4 (status) are the protocol.
    shim = spawnShim(sys, shimPath, [...(options.stdio ?? ['ignore', 'pipe', 'pipe']), 'pipe', 'pipe']);
  } catch (err) {
    return Promise.reject(asShimError('spawn shim', err));
  }
  const control = shim.stdio[SHIM_CONTROL_FD] as Socket;
  const status = shim.stdio[SHIM_STATUS_FD] as Socket;
  // A fast container exits before the caller gets the streams: piping now keeps the output
  // (with back-pressure) until the caller reads it.
  const stdout = shim.stdio[1] ? shim.stdio[1].pipe(new PassThrough()) : null;
  const stderr = shim.stdio[2] ? shim.stdio[2].pipe(new PassThrough()) : null;

  return new Promise<LaunchedProcess>((resolve, reject) => {
    const decoder = new ShimMessageDecoder();
    let pid: number | undefined;
    let goSent = false;
    let started = false;
    let failure: Error | undefined;
    let exitStatus: ExitStatus | undefined;
    let resolveExit!: (s: ExitStatus) => void;
    let rejectExit!: (e: Error) => void;
    const exited = new Promise<ExitStatus>((res, rej) => ((resolveExit = res), (rejectExit = rej)));
    exited.catch(() => undefined); // only observed by callers that care

    const deadline = setTimeout(
      () => fail(new ShimError('start timed out', osConstants.errno.ETIMEDOUT)),
      options.timeoutMs ?? 30_000,
    );
    let killTimer: NodeJS.Timeout | undefined;

    // Rejection waits until the shim is gone (status fd closed), so "rejected" means
    // "nothing left running". Before 'G', closing control makes the shim SIGKILL and reap
    // its child; after 'G' the child still has PDEATHSIG=SIGKILL until execve, so killing
    // the shim takes the child with it.
    function fail(err: Error): void {
      if (started || failure) return;
      failure = err;
      clearTimeout(deadline);
      control.destroy();
      if (goSent) shim.kill();
      killTimer = setTimeout(() => shim.kill(), SHIM_GRACE_MS);
    }

    function onMessage(msg: ShimMessage): void {
      switch (msg.type) {
        case 'pid':
          pid = msg.pid;
          if (!options.placeInCgroups) return; // 'G' went with the config
          options.placeInCgroups(msg.pid).then(
            () => {
              if (failure) return;
              goSent = true;
              control.end('G');
            },
            (err: unknown) => fail(asShimError('place in cgroups', err)),
          );
          return;
        case 'error':
          return fail(new ShimError(msg.step, msg.errno));
        case 'exec':
          if (pid === undefined || failure)
            return fail(new ShimError('shim: EXEC before PID', osConstants.errno.EPROTO));
          started = true;
          clearTimeout(deadline);
          resolve({ pid, shimPid: shim.pid, stdin: shim.stdio[0], stdout, stderr, exited });
          return;
        case 'exit': {
          const signal = msg.signal === null ? null : (signalName(msg.signal) ?? null);
          exitStatus = { exitCode: msg.exitCode ?? 128 + (msg.signal ?? 0), signal };
          // Settle once the shim is reaped too, so "exited" means nothing of it is left: it
          // sends EXIT just before it exits, and closes the status fd as it does.
          void statusClosed.then(() => shim.reaped).then(() => resolveExit(exitStatus!));
          return;
        }
      }
    }

    status.on('data', (chunk: Buffer) => {
      let messages: ShimMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        return fail(asShimError('shim protocol', err, osConstants.errno.EPROTO));
      }
      messages.forEach(onMessage);
    });
    status.on('error', () => undefined); // 'close' follows and says what matters
    control.on('error', () => undefined); // EPIPE when the shim already exited; handled via status

    // The status fd is held only by the shim, so its close means the shim has exited.
    let statusIsClosed!: () => void;
    const statusClosed = new Promise<void>((res) => (statusIsClosed = res));
    status.on('close', () => {
      statusIsClosed();
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      const gone = new ShimError('shim exited unexpectedly', osConstants.errno.EPIPE);
      if (!started) {
        void shim.reaped.then(() => reject(failure ?? gone));
      } else if (!exitStatus) {
        void shim.reaped.then(() => rejectExit(gone));
      }
    });
    if (options.placeInCgroups) control.write(frame);
    else {
      goSent = true;
      control.end(Buffer.concat([frame, Buffer.from('G')]));
    }
  });
}

function asShimError(step: string, err: unknown, fallbackErrno = osConstants.errno.EIO): ShimError {
  if (err instanceof ShimError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const errno =
    code && code in osConstants.errno
      ? osConstants.errno[code as keyof typeof osConstants.errno]
      : fallbackErrno;
  return new ShimError(step, errno, { cause: err });
}

interface SpawnedShim {
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
function spawnShim(sys: Syscalls, shimPath: string, stdio: StdioEntry[]): SpawnedShim {
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
