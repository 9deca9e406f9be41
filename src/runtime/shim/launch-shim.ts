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
  let run: ShimRun;
  try {
    run = new ShimRun(config, options);
  } catch (err) {
    return Promise.reject(err);
  }
  return run.started;
}

/** A container process set up to its last step before execve, waiting for `go`. */
export interface PreparedShim {
  /** Host pid of the container process (its PID 1), and of its shim. */
  pid: number;
  shimPid: number;
  /** Lets the process execve: resolves (or rejects) as `launchShim` does. Once only. */
  go(): Promise<LaunchedProcess>;
  /** Kills the process and its shim; resolves once both are gone. Nothing ran in it. */
  abort(): Promise<void>;
  /** Settles when the shim is gone, whatever the reason (abort, kill, or the process's exit). */
  readonly gone: Promise<void>;
}

/**
 * A prepared start: clone, cgroups, mounts, pivot_root, credentials — everything `launchShim`
 * does except the execve, which waits for `go()`. The setup's cost is then paid while the
 * caller does other work (a create's database writes), and the start is one byte away.
 * Rejects with ShimError when the setup fails, with nothing left running.
 */
export function prepareShim(
  config: ShimConfig & { mode: 'run' },
  options: LaunchShimOptions,
): Promise<PreparedShim> {
  let run: ShimRun;
  try {
    run = new ShimRun({ ...config, prepare: true }, options);
  } catch (err) {
    return Promise.reject(err);
  }
  return run.ready.then(() => ({
    pid: run.pid!,
    shimPid: run.shim.pid,
    go: () => run.go(),
    abort: () => run.abort(),
    gone: run.gone,
  }));
}

/**
 * One shim, from spawn to exit: the protocol's state machine (see shim-protocol.ts). `ready`
 * settles on READY (prepared runs only), `started` on EXEC; both reject with the failure once
 * the shim is gone, so "rejected" means "nothing left running".
 */
class ShimRun {
  readonly shim: SpawnedShim;
  pid: number | undefined;
  readonly ready: Promise<void>;
  readonly started: Promise<LaunchedProcess>;
  readonly gone: Promise<void>;
  private readonly statusClosed: Promise<void>;
  private readonly control: Socket;
  private readonly options: LaunchShimOptions;
  /** Stops before execve until go() (prepareShim). */
  private readonly prepared: boolean;
  private goSent = false;
  private readyReceived = false;
  private execSent = false;
  private isStarted = false;
  private failure: Error | undefined;
  private exitStatus: ExitStatus | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private settle!: { ready: () => void; started: (p: LaunchedProcess) => void; fail: (e: Error) => void };
  private resolveExit!: (s: ExitStatus) => void;
  private rejectExit!: (e: Error) => void;
  private readonly exited: Promise<ExitStatus>;
  private readonly stdout: Readable | null;
  private readonly stderr: Readable | null;

  constructor(config: ShimConfig, options: LaunchShimOptions) {
    const frame = encodeShimConfig(config);
    const shimPath = options.shimPath ?? resolveShimPath();
    const sys = options.syscalls ?? (defaultSyscalls ??= createLibcSyscalls());
    this.options = options;
    this.prepared = config.mode === 'run' && config.prepare === true;
    try {
      // fds 0-2 go to the container; 3 (control) and 4 (status) are the protocol.
      this.shim = spawnShim(sys, shimPath, [
        ...(options.stdio ?? ['ignore', 'pipe', 'pipe']),
        'pipe',
        'pipe',
      ]);
    } catch (err) {
      throw asShimError('spawn shim', err);
    }
    const shim = this.shim;
    this.control = shim.stdio[SHIM_CONTROL_FD] as Socket;
    const status = shim.stdio[SHIM_STATUS_FD] as Socket;
    // A fast container exits before the caller gets the streams: piping now keeps the output
    // (with back-pressure) until the caller reads it.
    this.stdout = shim.stdio[1] ? shim.stdio[1].pipe(new PassThrough()) : null;
    this.stderr = shim.stdio[2] ? shim.stdio[2].pipe(new PassThrough()) : null;
    this.exited = new Promise<ExitStatus>((res, rej) => ((this.resolveExit = res), (this.rejectExit = rej)));
    this.exited.catch(() => undefined); // only observed by callers that care

    let readyFns!: [() => void, (e: Error) => void];
    let startedFns!: [(p: LaunchedProcess) => void, (e: Error) => void];
    this.ready = new Promise<void>((res, rej) => (readyFns = [res, rej]));
    this.started = new Promise<LaunchedProcess>((res, rej) => (startedFns = [res, rej]));
    // A prepared run's `started` is only observed after go(); an unprepared one's `ready` never.
    this.ready.catch(() => undefined);
    if (this.prepared) this.started.catch(() => undefined);
    this.settle = {
      ready: readyFns[0],
      started: startedFns[0],
      fail: (e) => (readyFns[1](e), startedFns[1](e)),
    };
    this.armDeadline();

    const decoder = new ShimMessageDecoder();
    status.on('data', (chunk: Buffer) => {
      let messages: ShimMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        return this.fail(asShimError('shim protocol', err, osConstants.errno.EPROTO));
      }
      messages.forEach((m) => this.onMessage(m));
    });
    status.on('error', () => undefined); // 'close' follows and says what matters
    this.control.on('error', () => undefined); // EPIPE when the shim already exited; handled via status

    // The status fd is held only by the shim, so its close means the shim has exited.
    let statusIsClosed!: () => void;
    const statusClosed = new Promise<void>((res) => (statusIsClosed = res));
    this.gone = statusClosed.then(() => shim.reaped);
    this.statusClosed = statusClosed;
    status.on('close', () => {
      statusIsClosed();
      clearTimeout(this.deadline);
      if (this.killTimer) clearTimeout(this.killTimer);
      const gone = new ShimError('shim exited unexpectedly', osConstants.errno.EPIPE);
      if (!this.isStarted) {
        void shim.reaped.then(() => this.settle.fail(this.failure ?? gone));
      } else if (!this.exitStatus) {
        void shim.reaped.then(() => this.rejectExit(gone));
      }
    });
    if (options.placeInCgroups) this.control.write(frame);
    else {
      this.goSent = true;
      // A prepared run keeps the control fd open for its 'E'.
      const frameAndGo = Buffer.concat([frame, Buffer.from('G')]);
      if (this.prepared) this.control.write(frameAndGo);
      else this.control.end(frameAndGo);
    }
  }

  go(): Promise<LaunchedProcess> {
    if (!this.execSent && !this.failure) {
      this.execSent = true;
      this.armDeadline();
      this.control.end('E');
    }
    return this.started;
  }

  abort(): Promise<void> {
    this.fail(new ShimError('start aborted', osConstants.errno.ECANCELED));
    return this.gone;
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => this.fail(new ShimError('start timed out', osConstants.errno.ETIMEDOUT)),
      this.options.timeoutMs ?? 30_000,
    );
  }

  // Rejection waits until the shim is gone (status fd closed). Before 'G' (and, prepared,
  // before 'E'), closing control makes the shim SIGKILL and reap its child; after 'G' the
  // child still has PDEATHSIG=SIGKILL until execve, so killing the shim takes the child with it.
  // A shim that reported the failure itself, or that waits for 'E', kills and reaps its child
  // and exits on its own: killing it first would leave the child to be reaped by init.
  private fail(err: Error, shimCleansUp = false): void {
    if (this.isStarted || this.failure) return;
    this.failure = err;
    clearTimeout(this.deadline);
    this.control.destroy();
    const waitingForExec = this.readyReceived && !this.execSent;
    if (this.goSent && !shimCleansUp && !waitingForExec) this.shim.kill();
    this.killTimer = setTimeout(() => this.shim.kill(), SHIM_GRACE_MS);
  }

  private onMessage(msg: ShimMessage): void {
    switch (msg.type) {
      case 'pid':
        this.pid = msg.pid;
        if (!this.options.placeInCgroups) return; // 'G' went with the config
        this.options.placeInCgroups(msg.pid).then(
          () => {
            if (this.failure) return;
            this.goSent = true;
            this.control.write('G');
            if (!this.prepared) this.control.end();
          },
          (err: unknown) => this.fail(asShimError('place in cgroups', err)),
        );
        return;
      case 'ready':
        if (this.pid === undefined || !this.prepared || this.failure)
          return this.fail(new ShimError('shim: unexpected READY', osConstants.errno.EPROTO));
        clearTimeout(this.deadline);
        this.readyReceived = true;
        this.settle.ready();
        return;
      case 'error':
        return this.fail(new ShimError(msg.step, msg.errno), true);
      case 'exec':
        if (this.pid === undefined || this.failure || (this.prepared && !this.execSent))
          return this.fail(new ShimError('shim: unexpected EXEC', osConstants.errno.EPROTO));
        this.isStarted = true;
        clearTimeout(this.deadline);
        this.settle.started({
          pid: this.pid,
          shimPid: this.shim.pid,
          stdin: this.shim.stdio[0],
          stdout: this.stdout,
          stderr: this.stderr,
          exited: this.exited,
        });
        return;
      case 'exit': {
        const signal = msg.signal === null ? null : (signalName(msg.signal) ?? null);
        const exitStatus = { exitCode: msg.exitCode ?? 128 + (msg.signal ?? 0), signal };
        this.exitStatus = exitStatus;
        // Settle once the shim is reaped too, so "exited" means nothing of it is left: it
        // sends EXIT just before it exits, and closes the status fd as it does.
        void this.statusClosed.then(() => this.shim.reaped).then(() => this.resolveExit(exitStatus));
        return;
      }
    }
  }
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
