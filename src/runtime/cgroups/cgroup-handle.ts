import { join } from 'node:path';
import { CgroupHandle, CgroupLimits, CgroupLimitsReadback, CgroupStats } from './cgroup-driver';
import { CgroupError, errnoOf } from './cgroup.errors';
import { CgroupFs, parsePids } from './cgroup-fs';
import { sleep } from './limits';

/**
 * What v1 and v2 handles share: listing, signalling and tearing down. Subclasses supply the
 * controller-specific parts (limits, stats, freezing, and v2's one-shot cgroup.kill).
 */
export abstract class BaseCgroupHandle implements CgroupHandle {
  constructor(
    readonly id: string,
    readonly paths: Readonly<Record<string, string>>,
    protected readonly fs: CgroupFs,
  ) {}

  abstract addProcess(pid: number): Promise<void>;
  abstract setLimits(limits: CgroupLimits): Promise<void>;
  abstract readLimits(): Promise<CgroupLimitsReadback>;
  abstract stats(): Promise<CgroupStats>;
  abstract freeze(): Promise<void>;
  abstract thaw(): Promise<void>;
  /** Whether freeze() can work right now (the freezer exists and this cgroup's directory does). */
  protected abstract canFreeze(): Promise<boolean>;

  /** v2 overrides this with cgroup.kill: the kernel kills every member at once, forks included. */
  protected async killAtOnce(): Promise<boolean> {
    return false;
  }

  async pids(): Promise<number[]> {
    // Union over hierarchies: after a failed addProcess a process may sit in some of them only.
    const all = new Set<number>();
    for (const dir of new Set(Object.values(this.paths))) {
      const text = await this.fs.readOptional(join(dir, 'cgroup.procs'));
      if (text !== null) for (const pid of parsePids(text)) all.add(pid);
    }
    return [...all].sort((a, b) => a - b);
  }

  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGKILL' && (await this.killAtOnce())) return;
    // Freeze first so that no process can fork a child between reading cgroup.procs and signalling;
    // frozen tasks keep the signal pending and act on it when thawed (runc's signalAllProcesses).
    const frozen = await this.canFreeze();
    if (frozen) await this.freeze();
    try {
      for (const pid of await this.pids()) this.fs.kill(pid, signal);
    } finally {
      if (frozen) await this.thaw();
    }
  }

  async destroy(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    const dirs: string[] = [];
    for (const dir of new Set(Object.values(this.paths))) if (await this.fs.exists(dir)) dirs.push(dir);
    if (dirs.length === 0) return; // already destroyed (or never created): destroy is idempotent

    // Processes leave the cgroup when they exit; rmdir answers EBUSY until then.
    for (let pids = await this.pids(); pids.length > 0; pids = await this.pids()) {
      if (Date.now() > deadline) {
        throw new CgroupError(
          'TIMEOUT',
          `cgroup ${this.id}: processes ${pids.join(', ')} still in ${dirs[0]} after SIGKILL and ${timeoutMs} ms`,
          { path: dirs[0] },
        );
      }
      await this.killAll('SIGKILL');
      await sleep(10);
    }
    for (const dir of dirs) await this.removeTree(dir, deadline);
  }

  /** Child cgroups first (a container with a writable cgroupfs may have made some), then the directory. */
  private async removeTree(dir: string, deadline: number): Promise<void> {
    for (const child of await this.fs.listDirs(dir)) await this.removeTree(join(dir, child), deadline);
    for (;;) {
      try {
        return await this.fs.rmdir(dir);
      } catch (err) {
        // An exited task can hold the cgroup busy for a moment until the kernel finishes releasing it.
        if (errnoOf(err) !== 'EBUSY' || Date.now() > deadline) throw err;
        await sleep(10);
      }
    }
  }
}

export function validatePid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new CgroupError('INVALID_PID', `pid ${pid} is not a process id`);
  }
}
