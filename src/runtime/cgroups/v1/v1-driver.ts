import { join } from 'node:path';
import {
  CGROUP_ID_PATTERN,
  CgroupDriver,
  CgroupHandle,
  CgroupLimits,
  CgroupLimitsReadback,
  CgroupStats,
} from '../cgroup-driver';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { BaseCgroupHandle, validatePid } from '../cgroup-handle';
import { CgroupHierarchy, V1Controller } from '../detect-cgroup-mode';
import { applyCpuV1, cpuThrottlingV1, readCpuLimitsV1 } from './cpu';
import { cpuUsageV1 } from './cpuacct';
import { applyCpusetV1, inheritCpusetV1, readCpusetV1 } from './cpuset';
import { setFreezerStateV1 } from './freezer';
import { applyMemoryV1, memoryStatsV1, readMemoryLimitsV1 } from './memory';
import { applyPidsV1, pidsStatsV1, readPidsLimitV1 } from './pids';
import { applyBlkioV1, ioStatsV1, readBlkioV1 } from './blkio';

// cgroup v1: each controller (or group of co-mounted controllers) is its own hierarchy, so one container
// cgroup is one directory per hierarchy: <mount>/<service's own cgroup>/<parent>/<id>.

const REQUIRED: V1Controller[] = ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset'];

export interface V1DriverOptions {
  hierarchies: Partial<Record<V1Controller, CgroupHierarchy>>;
  parentName: string;
  fs: CgroupFs;
}

interface Hierarchy {
  /** Key in CgroupHandle.paths: the co-mounted controllers, e.g. "memory" or "cpu,cpuacct". */
  key: string;
  controllers: V1Controller[];
  ownDir: string;
  parentDir: string;
}

export class V1CgroupDriver implements CgroupDriver {
  readonly mode = 'v1' as const;
  readonly parentName: string;
  readonly parentPaths: Readonly<Record<string, string>>;
  private readonly hierarchies: Hierarchy[];
  private readonly fs: CgroupFs;

  constructor(options: V1DriverOptions) {
    validateId(options.parentName, 'parent cgroup name');
    const missing = REQUIRED.filter((c) => !options.hierarchies[c]);
    if (missing.length > 0) {
      throw new CgroupError('UNSUPPORTED', `cgroup v1 controllers not mounted: ${missing.join(', ')}`);
    }
    this.parentName = options.parentName;
    this.fs = options.fs;
    const byMount = new Map<CgroupHierarchy, V1Controller[]>();
    for (const [controller, h] of Object.entries(options.hierarchies) as [V1Controller, CgroupHierarchy][]) {
      byMount.set(h, [...(byMount.get(h) ?? []), controller]);
    }
    // cpuset first: it is the hierarchy that refuses tasks (ENOSPC) when misconfigured, so a failing
    // addProcess fails before the process has been moved anywhere else.
    this.hierarchies = [...byMount].map(([h, controllers]) => ({
      key: h.controllers.filter((c) => controllers.includes(c as V1Controller)).join(','),
      controllers,
      ownDir: h.ownDir,
      parentDir: join(h.ownDir, options.parentName),
    }));
    this.hierarchies.sort(
      (a, b) => Number(b.controllers.includes('cpuset')) - Number(a.controllers.includes('cpuset')),
    );
    this.parentPaths = Object.fromEntries(this.hierarchies.map((h) => [h.key, h.parentDir]));
  }

  async create(id: string, limits: CgroupLimits = {}): Promise<CgroupHandle> {
    validateId(id, 'cgroup id');
    await this.ensureParent();
    if (await this.open(id)) {
      throw new CgroupError(
        'EXISTS',
        `cgroup ${id} already exists under ${this.parentName}; destroy it first`,
      );
    }
    const handle = this.handle(id);
    try {
      for (const h of this.hierarchies) {
        const dir = join(h.parentDir, id);
        if (!(await this.fs.mkdir(dir))) {
          throw new CgroupError('EXISTS', `cgroup ${id} appeared concurrently at ${dir}`, { path: dir });
        }
        if (h.controllers.includes('cpuset')) await inheritCpusetV1(this.fs, dir, h.parentDir);
      }
      await handle.setLimits(limits);
      return handle;
    } catch (err) {
      await handle.destroy().catch(() => undefined); // the original error says what went wrong
      throw err;
    }
  }

  async open(id: string): Promise<CgroupHandle | null> {
    validateId(id, 'cgroup id');
    for (const h of this.hierarchies) if (await this.fs.exists(join(h.parentDir, id))) return this.handle(id);
    return null;
  }

  async list(): Promise<string[]> {
    const ids = new Set<string>();
    for (const h of this.hierarchies) for (const id of await this.fs.listDirs(h.parentDir)) ids.add(id);
    return [...ids].sort();
  }

  async removeParent(): Promise<void> {
    for (const h of this.hierarchies) {
      if ((await this.fs.listDirs(h.parentDir)).length === 0) await this.fs.rmdir(h.parentDir);
    }
  }

  private async ensureParent(): Promise<void> {
    for (const h of this.hierarchies) {
      await this.fs.mkdir(h.parentDir);
      if (h.controllers.includes('cpuset')) await inheritCpusetV1(this.fs, h.parentDir, h.ownDir);
    }
  }

  private handle(id: string): V1CgroupHandle {
    const dirs = new Map<V1Controller, string>();
    for (const h of this.hierarchies) for (const c of h.controllers) dirs.set(c, join(h.parentDir, id));
    const paths = Object.fromEntries(this.hierarchies.map((h) => [h.key, join(h.parentDir, id)]));
    return new V1CgroupHandle(id, paths, dirs, this.fs);
  }
}

export class V1CgroupHandle extends BaseCgroupHandle {
  constructor(
    id: string,
    paths: Record<string, string>,
    private readonly dirs: Map<V1Controller, string>,
    fs: CgroupFs,
  ) {
    super(id, paths, fs);
  }

  get selfJoinFiles(): string[] {
    // Same order as addProcess: cpuset first, the hierarchy that refuses a task when misconfigured.
    return [...new Set(Object.values(this.paths))].map((dir) => join(dir, 'tasks'));
  }

  async addProcess(pid: number): Promise<void> {
    validatePid(pid);
    // cgroup.procs moves the whole thread group; tasks would move one thread.
    for (const dir of new Set(Object.values(this.paths)))
      await this.fs.write(join(dir, 'cgroup.procs'), String(pid));
  }

  async setLimits(limits: CgroupLimits): Promise<void> {
    await applyMemoryV1(this.fs, this.dir('memory'), limits);
    await applyCpuV1(this.fs, this.dir('cpu'), limits);
    await applyPidsV1(this.fs, this.dir('pids'), limits.pidsLimit);
    await applyCpusetV1(this.fs, this.dir('cpuset'), limits);
    await applyBlkioV1(this.fs, this.dirs.get('blkio'), limits.blkio);
  }

  async readLimits(): Promise<CgroupLimitsReadback> {
    const blkioDir = this.dirs.get('blkio');
    const [memory, cpu, pidsLimit, cpuset, blkio] = await Promise.all([
      readMemoryLimitsV1(this.fs, this.dir('memory')),
      readCpuLimitsV1(this.fs, this.dir('cpu')),
      readPidsLimitV1(this.fs, this.dir('pids')),
      readCpusetV1(this.fs, this.dir('cpuset')),
      blkioDir ? readBlkioV1(this.fs, blkioDir) : undefined,
    ]);
    return { ...memory, ...cpu, pidsLimit, ...cpuset, ...(blkio && { blkio }) };
  }

  async stats(): Promise<CgroupStats> {
    const blkioDir = this.dirs.get('blkio');
    const [usage, throttling, memory, pids, io] = await Promise.all([
      cpuUsageV1(this.fs, this.dir('cpuacct')),
      cpuThrottlingV1(this.fs, this.dir('cpu')),
      memoryStatsV1(this.fs, this.dir('memory')),
      pidsStatsV1(this.fs, this.dir('pids')),
      blkioDir ? ioStatsV1(this.fs, blkioDir) : null,
    ]);
    return { cpu: { ...usage, ...throttling }, memory, pids, io };
  }

  async freeze(): Promise<void> {
    await setFreezerStateV1(this.fs, this.freezerDir(), 'FROZEN');
  }

  async thaw(): Promise<void> {
    await setFreezerStateV1(this.fs, this.freezerDir(), 'THAWED');
  }

  protected async canFreeze(): Promise<boolean> {
    const dir = this.dirs.get('freezer');
    return dir !== undefined && (await this.fs.exists(dir));
  }

  private freezerDir(): string {
    const dir = this.dirs.get('freezer');
    if (!dir) throw new CgroupError('UNSUPPORTED', 'the v1 freezer controller is not mounted; cannot freeze');
    return dir;
  }

  private dir(controller: V1Controller): string {
    return this.dirs.get(controller)!; // REQUIRED controllers are checked in the driver's constructor
  }
}

export function validateId(id: string, what: string): void {
  if (!CGROUP_ID_PATTERN.test(id)) {
    throw new CgroupError(
      'INVALID_ID',
      `${what} "${id}" must be one path segment of letters, digits, "_", "." or "-" (max 128)`,
    );
  }
}
