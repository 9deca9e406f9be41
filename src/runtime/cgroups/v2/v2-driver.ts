import { join } from 'node:path';
import {
  CgroupDriver,
  CgroupHandle,
  CgroupLimits,
  CgroupLimitsReadback,
  CgroupStats,
} from '../cgroup-driver';
import { CgroupError, errnoOf } from '../cgroup.errors';
import { CgroupFs, parseKeyValues } from '../cgroup-fs';
import { BaseCgroupHandle, validatePid } from '../cgroup-handle';
import { CgroupHierarchy } from '../detect-cgroup-mode';
import { sleep } from '../limits';
import { validateId } from '../v1/v1-driver';
import { applyCpuV2, cpuStatsV2, readCpuLimitsV2 } from './cpu';
import { applyCpusetV2, readCpusetV2 } from './cpuset';
import { applyMemoryV2, memoryStatsV2, readMemoryLimitsV2 } from './memory';
import { applyPidsV2, pidsStatsV2, readPidsLimitV2 } from './pids';
import { applyIoV2, ioStatsV2, readIoV2 } from './io';

// cgroup v2: one tree, <mount>/<service's own cgroup>/<parent>/<id>. A controller's files appear in a
// cgroup only when its parent lists the controller in cgroup.subtree_control, and a controller can be
// enabled there only if it is in that cgroup's own cgroup.controllers, so the driver enables them down
// the chain: own cgroup → parent → container.

const REQUIRED = ['memory', 'cpu', 'pids'];
const WANTED = [...REQUIRED, 'cpuset', 'io'];

export interface V2DriverOptions {
  hierarchy: CgroupHierarchy;
  parentName: string;
  fs: CgroupFs;
}

export class V2CgroupDriver implements CgroupDriver {
  readonly mode = 'v2' as const;
  readonly parentName: string;
  readonly parentPaths: Readonly<Record<string, string>>;
  private readonly parentDir: string;
  private readonly ownDir: string;
  private readonly fs: CgroupFs;

  constructor(options: V2DriverOptions) {
    validateId(options.parentName, 'parent cgroup name');
    this.parentName = options.parentName;
    this.fs = options.fs;
    this.ownDir = options.hierarchy.ownDir;
    this.parentDir = join(this.ownDir, options.parentName);
    this.parentPaths = { unified: this.parentDir };
  }

  async create(id: string, limits: CgroupLimits = {}): Promise<CgroupHandle> {
    validateId(id, 'cgroup id');
    await this.ensureParent();
    const dir = join(this.parentDir, id);
    if (!(await this.fs.mkdir(dir))) {
      throw new CgroupError('EXISTS', `cgroup ${id} already exists at ${dir}; destroy it first`, {
        path: dir,
      });
    }
    const handle = new V2CgroupHandle(id, dir, this.fs);
    try {
      await handle.setLimits(limits);
      return handle;
    } catch (err) {
      await handle.destroy().catch(() => undefined); // the original error says what went wrong
      throw err;
    }
  }

  async open(id: string): Promise<CgroupHandle | null> {
    validateId(id, 'cgroup id');
    const dir = join(this.parentDir, id);
    return (await this.fs.exists(dir)) ? new V2CgroupHandle(id, dir, this.fs) : null;
  }

  async list(): Promise<string[]> {
    return (await this.fs.listDirs(this.parentDir)).sort();
  }

  async removeParent(): Promise<void> {
    if ((await this.fs.listDirs(this.parentDir)).length === 0) await this.fs.rmdir(this.parentDir);
  }

  private async ensureParent(): Promise<void> {
    await this.enableControllers(this.ownDir);
    await this.fs.mkdir(this.parentDir);
    await this.enableControllers(this.parentDir);
  }

  private async enableControllers(dir: string): Promise<void> {
    const available = words(await this.fs.read(join(dir, 'cgroup.controllers')));
    const missing = REQUIRED.filter((c) => !available.includes(c));
    if (missing.length > 0) {
      throw new CgroupError(
        'UNSUPPORTED',
        `cgroup v2 controllers ${missing.join(', ')} are not available in ${dir}: they must be enabled in the ` +
          `parent's cgroup.subtree_control (delegate them to the service, e.g. systemd Delegate=yes)`,
        { path: join(dir, 'cgroup.controllers') },
      );
    }
    const file = join(dir, 'cgroup.subtree_control');
    const enabled = words(await this.fs.read(file));
    const toEnable = WANTED.filter((c) => available.includes(c) && !enabled.includes(c));
    if (toEnable.length === 0) return;
    try {
      await this.fs.write(file, toEnable.map((c) => `+${c}`).join(' '));
    } catch (err) {
      if (errnoOf(err) !== 'EBUSY') throw err;
      // "No internal processes": a non-root cgroup that holds processes cannot hand domain controllers to
      // children. The service must run in a leaf of a delegated subtree, not in the subtree's top.
      throw CgroupError.io(
        'write',
        file,
        err,
        `${dir} holds processes, and cgroup v2 enables controllers for children only in cgroups without ` +
          `processes; run the service in a leaf cgroup of a delegated subtree`,
      );
    }
  }
}

export class V2CgroupHandle extends BaseCgroupHandle {
  constructor(
    id: string,
    private readonly dir: string,
    fs: CgroupFs,
  ) {
    super(id, { unified: dir }, fs);
  }

  async addProcess(pid: number): Promise<void> {
    validatePid(pid);
    await this.fs.write(join(this.dir, 'cgroup.procs'), String(pid));
  }

  async setLimits(limits: CgroupLimits): Promise<void> {
    await applyMemoryV2(this.fs, this.dir, limits);
    await applyCpuV2(this.fs, this.dir, limits);
    await applyPidsV2(this.fs, this.dir, limits.pidsLimit);
    await applyCpusetV2(this.fs, this.dir, limits);
    await applyIoV2(this.fs, this.dir, limits.blkio);
  }

  async readLimits(): Promise<CgroupLimitsReadback> {
    const [memory, cpu, pidsLimit, cpuset, blkio] = await Promise.all([
      readMemoryLimitsV2(this.fs, this.dir),
      readCpuLimitsV2(this.fs, this.dir),
      readPidsLimitV2(this.fs, this.dir),
      readCpusetV2(this.fs, this.dir),
      readIoV2(this.fs, this.dir),
    ]);
    return { ...memory, ...cpu, pidsLimit, ...cpuset, ...(blkio && { blkio }) };
  }

  async stats(): Promise<CgroupStats> {
    const [cpu, memory, pids, io] = await Promise.all([
      cpuStatsV2(this.fs, this.dir),
      memoryStatsV2(this.fs, this.dir),
      pidsStatsV2(this.fs, this.dir),
      ioStatsV2(this.fs, this.dir),
    ]);
    return { cpu, memory, pids, io };
  }

  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  protected async canFreeze(): Promise<boolean> {
    return this.fs.exists(join(this.dir, 'cgroup.freeze')); // kernel 5.2+
  }

  protected override async killAtOnce(): Promise<boolean> {
    // cgroup.kill (kernel 5.14+) SIGKILLs every member in the kernel, so nothing forks past it.
    const file = join(this.dir, 'cgroup.kill');
    if (!(await this.fs.exists(file))) return false;
    await this.fs.write(file, '1');
    return true;
  }

  /** cgroup.freeze starts the change; cgroup.events "frozen" says when every task has stopped (or resumed). */
  private async setFrozen(frozen: boolean, timeoutMs = 2000): Promise<void> {
    const want = frozen ? 1 : 0;
    await this.fs.write(join(this.dir, 'cgroup.freeze'), String(want));
    const events = join(this.dir, 'cgroup.events');
    const deadline = Date.now() + timeoutMs;
    while (parseKeyValues(await this.fs.read(events)).frozen !== want) {
      if (Date.now() > deadline) {
        throw new CgroupError('TIMEOUT', `${events} did not report frozen ${want} within ${timeoutMs} ms`, {
          path: events,
        });
      }
      await sleep(5);
    }
  }
}

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}
