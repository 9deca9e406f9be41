import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { PassThrough } from 'node:stream';
import type { FakeCgroupFs } from '../../../src/runtime/cgroups/testing/fake-cgroup-fs';
import {
  ShimError,
  type ExitStatus,
  type LaunchedProcess,
  type LaunchShimOptions,
  type PreparedShim,
} from '../../../src/runtime/shim/launch-shim';
import type { ShimConfig } from '../../../src/runtime/shim/shim-protocol';
import type { ShimRunner } from '../../../src/runtime/shim/shim-runner';

/**
 * A stand-in for native/shim behind the SHIM_RUNNER seam: no fork, no namespaces, no root.
 * Its processes are fake pids of the fake cgroupfs (placed in the container's cgroup as the
 * real shim places its child), and they run a tiny command language:
 *
 *   sleep …         runs until a fatal signal (pidfd or the cgroup's killAll)
 *   stubborn …      as sleep, but ignores SIGTERM (only SIGKILL ends it)
 *   echo a b        writes "a b\n" to stdout and exits 0
 *   exit N          exits with N
 *   /missing…       fails at exec with ENOENT (the real shim's "exec /missing: ENOENT")
 *
 * A signal death exits 128 + signal number, as the real shim reports it.
 */
export class FakeShim implements ShimRunner {
  readonly processes = new Map<number, FakeProcess>();
  /** Every process placed in its cgroup: its mode, args and pid, in order. */
  readonly launches: Array<{ mode: string; args: string[]; pid: number; prepared: boolean }> = [];
  private nextShimPid = 900_000;

  constructor(private readonly fs: FakeCgroupFs) {
    // The cgroup driver's killAll signals through the fs: the fake process hears it there.
    const kill = fs.kill.bind(fs);
    fs.kill = (pid, signal) => {
      const alive = kill(pid, signal);
      if (alive) this.processes.get(pid)?.signal(signal, true);
      return alive;
    };
  }

  isAlive(pid: number): boolean {
    return this.processes.get(pid)?.alive ?? false;
  }

  /** A pidfd signal (RecordingSyscalls): false when the process is gone (ESRCH). */
  signal(pid: number, signal: NodeJS.Signals): boolean {
    const p = this.processes.get(pid);
    if (!p?.alive) return false;
    p.signal(signal, false);
    return true;
  }

  async launch(config: ShimConfig, options: LaunchShimOptions): Promise<LaunchedProcess> {
    const p = await this.spawn(config, options, false);
    return p.go();
  }

  async prepare(config: ShimConfig & { mode: 'run' }, options: LaunchShimOptions): Promise<PreparedShim> {
    const p = await this.spawn(config, options, true);
    return { pid: p.pid, shimPid: p.shimPid, go: () => p.go(), abort: () => p.abort(), gone: p.gone };
  }

  private async spawn(
    config: ShimConfig,
    options: LaunchShimOptions,
    prepared: boolean,
  ): Promise<FakeProcess> {
    const pid = this.fs.spawn();
    const args = config.process.args;
    const p = new FakeProcess(this.fs, pid, this.nextShimPid++, args, options.stdio?.[0] === 'pipe');
    this.processes.set(pid, p);
    // As the real shim's monitor: the output goes to the log in json-file lines, by the shim.
    if (config.mode === 'run' && config.monitor) {
      const logPath = config.monitor.logPath;
      for (const [stream, out] of [
        ['stdout', p.stdout],
        ['stderr', p.stderr],
      ] as const)
        out.on('data', (chunk: Buffer) =>
          // `--log-driver none`: read and dropped, as the real shim does.
          logPath === null
            ? undefined
            : appendFileSync(
                logPath,
                `${JSON.stringify({ log: chunk.toString(), stream, time: new Date().toISOString() })}\n`,
              ),
        );
    }
    try {
      // As the real shim: its child is in the container's cgroup before anything runs.
      if (options.placeInCgroups) await options.placeInCgroups(pid);
      else if (config.mode === 'run')
        for (const f of config.cgroupTasks ?? []) await this.fs.write(f, String(pid));
    } catch (err) {
      p.end({ exitCode: 137, signal: 'SIGKILL' });
      throw new ShimError(`place in cgroups (${(err as Error).message})`, osConstants.errno.EIO, {
        cause: err,
      });
    }
    // Recorded once it is in its cgroup, as the real shim's child is before it may go on.
    this.launches.push({ mode: config.mode, args, pid, prepared });
    return p;
  }
}

export class FakeProcess {
  alive = true;
  readonly stdin: PassThrough | null;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly gone: Promise<void>;
  private readonly exited: Promise<ExitStatus>;
  private resolveExit!: (s: ExitStatus) => void;
  private started = false;

  /** True once the command was let go (the real shim's execve). */
  get execd(): boolean {
    return this.started;
  }

  constructor(
    private readonly fs: FakeCgroupFs,
    readonly pid: number,
    readonly shimPid: number,
    readonly args: string[],
    stdin: boolean,
  ) {
    this.stdin = stdin ? new PassThrough() : null;
    this.exited = new Promise((r) => (this.resolveExit = r));
    this.gone = this.exited.then(() => undefined);
  }

  async go(): Promise<LaunchedProcess> {
    if (!this.alive) throw new ShimError('start aborted', osConstants.errno.ECANCELED);
    const [cmd, ...rest] = this.args;
    if (cmd?.startsWith('/missing')) {
      this.end({ exitCode: 127, signal: null });
      throw new ShimError(`exec ${cmd}`, osConstants.errno.ENOENT);
    }
    this.started = true;
    const launched: LaunchedProcess = {
      pid: this.pid,
      shimPid: this.shimPid,
      stdin: this.stdin,
      stdout: this.stdout,
      stderr: this.stderr,
      exited: this.exited,
    };
    // The command runs after the start is answered, as a real process would.
    setImmediate(() => {
      if (!this.alive) return;
      if (cmd === 'echo') {
        this.stdout.write(`${rest.join(' ')}\n`);
        this.end({ exitCode: 0, signal: null });
      } else if (cmd === 'exit') this.end({ exitCode: Number(rest[0] ?? 0), signal: null });
    });
    return launched;
  }

  async abort(): Promise<void> {
    this.end({ exitCode: 137, signal: 'SIGKILL' });
    await this.gone;
  }

  /** `viaCgroup`: through the fs's kill (killAll), which has already ended the pid for a fatal signal. */
  signal(signal: NodeJS.Signals, viaCgroup: boolean): void {
    if (!this.alive) return;
    const status = { exitCode: 128 + osConstants.signals[signal], signal };
    if (viaCgroup) {
      if (!this.fs.isAlive(this.pid)) this.end(status);
      return;
    }
    const harmless = ['SIGCONT', 'SIGWINCH', 'SIGCHLD', 'SIGURG', 'SIGSTOP'].includes(signal);
    if (harmless || (signal === 'SIGTERM' && this.args[0] === 'stubborn')) return;
    this.end(status);
  }

  end(status: ExitStatus): void {
    if (!this.alive) return;
    this.alive = false;
    if (this.fs.isAlive(this.pid)) (this.fs as unknown as { end(pid: number): void }).end(this.pid);
    this.stdout.end();
    this.stderr.end();
    this.stdin?.end();
    // The shim reports the exit, then is reaped: a moment later.
    setImmediate(() => this.resolveExit(this.started ? status : { exitCode: 137, signal: 'SIGKILL' }));
  }
}

/** A minimal image's root: what resolveUser reads. */
export async function writePasswd(dir: string): Promise<void> {
  await writeFile(`${dir}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(`${dir}/etc/group`, 'root:x:0:\n');
}
