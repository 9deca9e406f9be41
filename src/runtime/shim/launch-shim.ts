import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
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
import { findPackageFile } from '../../platform/process';
import { createLibcSyscalls } from '../../platform/ffi';
import type { Syscalls } from '../../platform/ffi';
import { seccompProgram } from './seccomp-compiler';
import { resizeFrame } from './shim-attach';
import { spawnShim, type SpawnedShim, type StdioEntry } from './spawn-shim';

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

/** The shim reports these when the host, not the container's configuration, ran short. */
const EXHAUSTED_ERRNOS = new Set(['ENOMEM', 'ENOSPC', 'EAGAIN', 'EMFILE', 'ENFILE', 'EDQUOT']);

/**
 * The error code for a start or exec the shim could not carry out: a command that cannot run
 * (400, Docker's 127/126), a host out of a resource (503: retry), or a container the shim
 * could not set up as configured (422: a mount source, the workdir, a limit; step and errno
 * are in the message). None of these is a server fault.
 */
export function shimFailureCode(
  err: ShimError,
): 'CONTAINER_COMMAND_INVALID' | 'RUNTIME_EXHAUSTED' | 'CONTAINER_SETUP_FAILED' {
  if (err.step.startsWith('exec')) return 'CONTAINER_COMMAND_INVALID';
  return EXHAUSTED_ERRNOS.has(err.code) ? 'RUNTIME_EXHAUSTED' : 'CONTAINER_SETUP_FAILED';
}

/** Docker's convention: a signal death is reported as 128 + signal number (SIGKILL = 137). */
export interface ExitStatus {
  exitCode: number;
  signal: NodeJS.Signals | null;
}

export type { StdioEntry } from './spawn-shim';

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
  /** An exec's terminal: its size (the shim's control fd stays open for this). */
  resize?(rows: number, cols: number): void;
}

const SHIM_GRACE_MS = 5_000;
let defaultShimPath: string | undefined;
let defaultSyscalls: Syscalls | undefined;

/** The binary lives at <package>/native/shim/build, found from src/ and dist/ alike. */
export function resolveShimPath(): string {
  defaultShimPath ??= findPackageFile(join('native', 'shim', 'build', 'warden-shim'));
  if (!defaultShimPath)
    throw new ShimError('find shim binary (run scripts/build-shim.sh)', osConstants.errno.ENOENT);
  return defaultShimPath;
}

/**
 * Starts a container process through the init shim and resolves once execve succeeded.
 * Rejects with ShimError on any failure; by then the shim and the process it created are
 * gone (the shim kills and reaps its child when we close the control fd before 'G').
 */
export async function launchShim(config: ShimConfig, options: LaunchShimOptions): Promise<LaunchedProcess> {
  return new ShimRun(await withSeccompProgram(config, options), options).started.promise;
}

/** The process's seccomp profile compiled to BPF (cached; see seccomp-compiler.ts). */
async function withSeccompProgram<C extends ShimConfig>(config: C, options: LaunchShimOptions): Promise<C> {
  let program: Buffer | undefined;
  try {
    program = await seccompProgram(config, options.shimPath ?? resolveShimPath());
  } catch (err) {
    throw asShimError((err as Error).message, err);
  }
  return program ? { ...config, process: { ...config.process, seccompProgram: program } } : config;
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
export async function prepareShim(
  config: ShimConfig & { mode: 'run' },
  options: LaunchShimOptions,
): Promise<PreparedShim> {
  const run = new ShimRun(await withSeccompProgram({ ...config, prepare: true }, options), options);
  await run.ready.promise;
  return {
    pid: run.pid!,
    shimPid: run.shim.pid,
    go: () => run.go(),
    abort: () => run.abort(),
    gone: run.gone,
  };
}

/**
 * Where a run is in the protocol (shim-protocol.ts has the diagram): one value instead of a
 * flag per message.
 *
 *   configured ──G──► go-sent ──EXEC──────────────────────► started
 *                        └─(prepared) READY─► ready ─E─► exec-sent ─EXEC─► started
 *   any phase before started ──(error, timeout, abort, shim gone)──► failed
 *
 * On v1 the config goes with its G (the shim joins its cgroups itself): the run starts in
 * go-sent. The exit's status is data beside the phase, not a phase: it follows started.
 */
type Phase = 'configured' | 'go-sent' | 'ready' | 'exec-sent' | 'started' | 'failed';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
}

/**
 * One shim, from spawn to exit: the protocol's state machine (see shim-protocol.ts). `ready`
 * settles on READY (prepared runs only), `started` on EXEC; both reject with the failure once
 * the shim is gone, so "rejected" means "nothing left running".
 */
class ShimRun {
  readonly shim: SpawnedShim;
  pid: number | undefined;
  readonly gone: Promise<void>;
  readonly ready = deferred<void>();
  readonly started = deferred<LaunchedProcess>();
  private readonly exited = deferred<ExitStatus>();
  private readonly control: Socket;
  private readonly options: LaunchShimOptions;
  /** Stops before execve until go() (prepareShim). */
  private readonly prepared: boolean;
  /** An exec with a terminal: the control fd stays open after 'G' for its resizes. */
  private readonly resizable: boolean;
  private phase: Phase = 'configured';
  private failure: Error | undefined;
  private exitStatus: ExitStatus | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly stdout: Readable | null;
  private readonly stderr: Readable | null;

  constructor(config: ShimConfig, options: LaunchShimOptions) {
    const frame = encodeShimConfig(config);
    const shimPath = options.shimPath ?? resolveShimPath();
    const sys = options.syscalls ?? (defaultSyscalls ??= createLibcSyscalls());
    this.options = options;
    this.prepared = config.mode === 'run' && config.prepare === true;
    this.resizable = config.mode === 'exec' && config.process.terminal !== undefined;
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
    this.exited.promise.catch(() => undefined); // only observed by callers that care
    // A prepared run's `started` is only observed after go(); an unprepared one's `ready` never.
    this.ready.promise.catch(() => undefined);
    if (this.prepared) this.started.promise.catch(() => undefined);
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
    const statusClosed = deferred<void>();
    this.gone = statusClosed.promise.then(() => shim.reaped);
    status.on('close', () => {
      statusClosed.resolve();
      if (this.resizable) this.control.destroy();
      clearTimeout(this.deadline);
      if (this.killTimer) clearTimeout(this.killTimer);
      const gone = new ShimError('shim exited unexpectedly', osConstants.errno.EPIPE);
      if (this.phase !== 'started') {
        void shim.reaped.then(() => {
          this.ready.reject(this.failure ?? gone);
          this.started.reject(this.failure ?? gone);
        });
      } else if (!this.exitStatus) {
        void shim.reaped.then(() => this.exited.reject(gone));
      }
    });
    if (options.placeInCgroups) this.control.write(frame);
    else {
      this.phase = 'go-sent';
      // A prepared run keeps the control fd open for its 'E'.
      const frameAndGo = Buffer.concat([frame, Buffer.from('G')]);
      if (this.prepared || this.resizable) this.control.write(frameAndGo);
      else this.control.end(frameAndGo);
    }
  }

  go(): Promise<LaunchedProcess> {
    if (this.phase === 'ready') {
      this.phase = 'exec-sent';
      this.armDeadline();
      this.control.end('E');
    }
    return this.started.promise;
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
    const was = this.phase;
    if (was === 'started' || was === 'failed') return;
    this.phase = 'failed';
    this.failure = err;
    clearTimeout(this.deadline);
    this.control.destroy();
    if ((was === 'go-sent' || was === 'exec-sent') && !shimCleansUp) this.shim.kill();
    this.killTimer = setTimeout(() => this.shim.kill(), SHIM_GRACE_MS);
  }

  private onMessage(msg: ShimMessage): void {
    switch (msg.type) {
      case 'pid':
        this.pid = msg.pid;
        if (!this.options.placeInCgroups) return; // 'G' went with the config
        this.options.placeInCgroups(msg.pid).then(
          () => {
            if (this.phase === 'failed') return;
            this.phase = 'go-sent';
            this.control.write('G');
            if (!this.prepared && !this.resizable) this.control.end();
          },
          (err: unknown) => this.fail(asShimError('place in cgroups', err)),
        );
        return;
      case 'ready':
        if (this.pid === undefined || !this.prepared || this.phase === 'failed')
          return this.fail(new ShimError('shim: unexpected READY', osConstants.errno.EPROTO));
        clearTimeout(this.deadline);
        this.phase = 'ready';
        this.ready.resolve();
        return;
      case 'error':
        return this.fail(new ShimError(msg.step, msg.errno), true);
      case 'exec':
        if (this.pid === undefined || (this.prepared ? this.phase !== 'exec-sent' : this.phase === 'failed'))
          return this.fail(new ShimError('shim: unexpected EXEC', osConstants.errno.EPROTO));
        this.phase = 'started';
        clearTimeout(this.deadline);
        this.started.resolve({
          pid: this.pid,
          shimPid: this.shim.pid,
          stdin: this.shim.stdio[0],
          stdout: this.stdout,
          stderr: this.stderr,
          exited: this.exited.promise,
          ...(this.resizable && {
            resize: (rows: number, cols: number) => {
              if (this.control.writable) this.control.write(resizeFrame(rows, cols));
            },
          }),
        });
        return;
      case 'exit': {
        const signal = msg.signal === null ? null : (signalName(msg.signal) ?? null);
        const exitStatus = { exitCode: msg.exitCode ?? 128 + (msg.signal ?? 0), signal };
        this.exitStatus = exitStatus;
        // Settle once the shim is reaped too, so "exited" means nothing of it is left: it
        // sends EXIT just before it exits, and closes the status fd as it does.
        void this.gone.then(() => this.exited.resolve(exitStatus));
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
