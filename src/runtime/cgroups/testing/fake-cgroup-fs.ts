import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CgroupError } from '../cgroup.errors';
import { NodeCgroupFs, parseKeyValues, parsePids } from '../cgroup-fs';
import { FakeFeatures, V1_UNLIMITED, v1Files, v2ControllerFiles, v2CoreFiles } from './fake-cgroup-files';

// A cgroupfs stand-in on a plain directory. A plain mkdir creates an empty directory and a plain write
// stores bytes; the kernel instead populates new cgroups with control files and acts on writes (moves
// tasks, refuses bad limits). This class emulates the parts the drivers rely on, so the same conformance
// suite can run here and on a real hierarchy:
//   - mkdir creates the controller files (v2: only for controllers in the parent's subtree_control);
//   - rmdir is EBUSY while tasks or child cgroups remain;
//   - cgroup.procs moves a pid (out of its old cgroup in that hierarchy); ENOSPC on a v1 cpuset without
//     cpus/mems; EBUSY on a v2 cgroup with controllers enabled for children ("no internal processes");
//   - v1 memory.limit_in_bytes ≤ memory.memsw.limit_in_bytes is enforced (EINVAL), limits page-rounded;
//   - freezer.state / cgroup.freeze / cgroup.kill / cgroup.subtree_control behave as the kernel's do.
// Processes are fake pids (spawn()); kill() with a fatal signal ends them.

export interface FakeMount {
  dir: string;
  kind: 'v1' | 'v2';
  controllers: string[];
}

const FATAL = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGABRT']);
const PAGE = 4096;

export class FakeCgroupFs extends NodeCgroupFs {
  readonly mounts: FakeMount[] = [];
  readonly signals: { pid: number; signal: NodeJS.Signals }[] = [];
  private readonly alive = new Set<number>();
  private nextPid = 100_000;
  private dirty = false;
  private pending: Promise<void> | undefined;

  constructor(readonly features: FakeFeatures) {
    super();
  }

  /** A fake process, in no cgroup until a write to cgroup.procs places it. */
  spawn(): number {
    const pid = this.nextPid++;
    this.alive.add(pid);
    return pid;
  }

  isAlive(pid: number): boolean {
    return this.alive.has(pid);
  }

  /** Sets a file as the kernel would (counters, stats), bypassing write emulation. */
  async setKernelFile(path: string, content: string): Promise<void> {
    await fsp.writeFile(path, content.endsWith('\n') ? content : content + '\n');
  }

  /** Removes a control file, to emulate a kernel that lacks it. */
  async rmFileForTest(path: string): Promise<void> {
    await fsp.rm(path);
  }

  /** Creates a mount's root directory with the root cgroup's files. */
  async addMount(mount: FakeMount): Promise<void> {
    this.mounts.push(mount);
    await fsp.mkdir(mount.dir, { recursive: true });
    await this.populate(mount.dir, mount, true);
  }

  // The kernel makes each cgroupfs operation atomic; this emulation takes several file
  // operations (and walks every cgroup), so concurrent callers — containers started and
  // removed at once in the fast lifecycle tests — take turns.
  private turn: Promise<unknown> = Promise.resolve();

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  override mkdir(path: string): Promise<boolean> {
    return this.serial(async () => {
      const created = await super.mkdir(path);
      if (created) await this.populate(path, this.mountOf(path), false);
      return created;
    });
  }

  override rmdir(path: string): Promise<void> {
    return this.serial(() => this.rmdirNow(path));
  }

  private async rmdirNow(path: string): Promise<void> {
    await this.settle();
    if (!(await this.exists(path))) return;
    if ((await this.listDirs(path)).length > 0 || (await this.procsOf(path)).length > 0) {
      throw CgroupError.errno('rmdir', path, 'EBUSY');
    }
    await fsp.rm(path, { recursive: true });
  }

  override write(path: string, value: string): Promise<void> {
    return this.serial(() => this.writeNow(path, value));
  }

  private async writeNow(path: string, value: string): Promise<void> {
    await this.settle();
    if (!(await this.exists(path))) throw CgroupError.errno('write', path, 'ENOENT');
    const dir = dirname(path);
    const mount = this.mountOf(path);
    const v = value.trim();
    const fail = (errno: string): never => {
      throw CgroupError.errno('write', path, errno);
    };
    switch (basename(path)) {
      case 'cgroup.procs':
      case 'tasks':
        return this.attach(path, mount, Number(v), fail);
      case 'cgroup.subtree_control':
        return this.subtreeControl(path, mount, v, fail);
      case 'cgroup.kill':
        for (const pid of await this.procsOf(dir)) this.end(pid);
        return this.settle();
      case 'cgroup.freeze':
        if (v !== '0' && v !== '1') fail('EINVAL');
        await this.store(path, v);
        return this.store(join(dir, 'cgroup.events'), `populated ${await this.populated(dir)}\nfrozen ${v}`);
      case 'freezer.state':
        return v === 'FROZEN' || v === 'THAWED' ? this.store(path, v) : fail('EINVAL');
      case 'memory.limit_in_bytes':
      case 'memory.memsw.limit_in_bytes':
        return this.v1MemoryLimit(path, v, fail);
      case 'memory.max':
      case 'memory.swap.max':
        return this.store(path, v === 'max' ? v : String(pageRound(int(v) ?? fail('EINVAL'))));
      case 'cpu.cfs_quota_us':
        return int(v) === -1 || (int(v) ?? 0) >= 1000 ? this.store(path, v) : fail('EINVAL');
      case 'cpu.cfs_period_us':
        return (int(v) ?? 0) >= 1000 && int(v)! <= 1_000_000 ? this.store(path, v) : fail('EINVAL');
      case 'cpu.shares':
        return this.store(path, String(Math.min(262144, Math.max(2, int(v) ?? fail('EINVAL')))));
      case 'cpu.weight':
        return (int(v) ?? 0) >= 1 && int(v)! <= 10000 ? this.store(path, v) : fail('ERANGE');
      case 'cpu.max': {
        const [quota, period] = v.split(/\s+/);
        const oldPeriod = (await this.r(path)).trim().split(/\s+/)[1];
        if (quota !== 'max' && (int(quota) ?? 0) < 1000) fail('EINVAL');
        return this.store(path, `${quota} ${period ?? oldPeriod}`);
      }
      case 'pids.max':
        return v === 'max' || (int(v) ?? -1) >= 0 ? this.store(path, v) : fail('EINVAL');
      case 'cpuset.cpus':
      case 'cpuset.mems':
        return this.cpuset(path, mount, v, fail);
      case 'blkio.throttle.read_bps_device':
      case 'blkio.throttle.write_bps_device':
      case 'blkio.throttle.read_iops_device':
      case 'blkio.throttle.write_iops_device':
      case 'io.max':
        return this.perDevice(path, v, fail);
      case 'blkio.bfq.weight':
      case 'blkio.weight':
        return (int(v) ?? 0) >= 1 && int(v)! <= 1000 ? this.store(path, v) : fail('ERANGE');
      case 'io.weight': {
        const w = int(v.replace(/^default\s+/, ''));
        return w !== undefined && w >= 1 && w <= 10000 ? this.store(path, `default ${w}`) : fail('ERANGE');
      }
      default:
        return this.store(path, v);
    }
  }

  /**
   * Throttle files keep one line per device: a write sets (v2: updates) that device's line, as
   * the kernel does; an unknown device would be ENODEV there, any major:minor is taken here.
   */
  private async perDevice(path: string, v: string, fail: (errno: string) => never): Promise<void> {
    const m = /^(\d+:\d+)\s+(.+)$/.exec(v);
    if (!m) fail('EINVAL');
    const [, dev, rest] = m!;
    const lines = new Map<string, string>();
    for (const line of (await this.r(path)).split('\n').filter(Boolean))
      lines.set(line.split(/\s+/)[0], line);
    if (basename(path) === 'io.max') {
      const keys: Record<string, string> = { rbps: 'max', wbps: 'max', riops: 'max', wiops: 'max' };
      for (const kv of (lines.get(dev) ?? '').split(/\s+/).slice(1))
        keys[kv.split('=')[0]] = kv.split('=')[1];
      for (const kv of rest.split(/\s+/)) {
        const [k, val] = kv.split('=');
        if (!(k in keys) || !(val === 'max' || (int(val) ?? 0) > 0)) fail('EINVAL');
        keys[k] = val;
      }
      lines.set(
        dev,
        `${dev} ${Object.entries(keys)
          .map(([k, val]) => `${k}=${val}`)
          .join(' ')}`,
      );
    } else {
      if (int(rest) === undefined) fail('EINVAL');
      if (int(rest) === 0) lines.delete(dev);
      else lines.set(dev, `${dev} ${rest}`);
    }
    return this.store(path, [...lines.values()].map((l) => `${l}\n`).join(''));
  }

  override kill(pid: number, signal: NodeJS.Signals): boolean {
    if (!this.alive.has(pid)) return false;
    this.signals.push({ pid, signal });
    if (FATAL.has(signal)) this.end(pid);
    return true;
  }

  // kill() is synchronous like process.kill; the files catch up (as the kernel's do once a task exits)
  // before the next read.
  override async read(path: string): Promise<string> {
    await this.settle();
    return this.r(path);
  }

  override async readOptional(path: string): Promise<string | null> {
    await this.settle();
    return this.ro(path);
  }

  // --- emulation -----------------------------------------------------------------------------------

  private async populate(dir: string, mount: FakeMount, isRoot: boolean): Promise<void> {
    let files: Record<string, string> = {};
    if (mount.kind === 'v1') {
      for (const c of mount.controllers) files = { ...files, ...v1Files(c, isRoot, this.features) };
      // cgroup.clone_children=1 in the parent makes a new v1 cpuset copy the parent's cpus and mems.
      if (
        !isRoot &&
        files['cpuset.cpus'] === '' &&
        (await this.r(join(dirname(dir), 'cgroup.clone_children'))).trim() === '1'
      ) {
        files['cpuset.cpus'] = (await this.r(join(dirname(dir), 'cpuset.cpus'))).trim();
        files['cpuset.mems'] = (await this.r(join(dirname(dir), 'cpuset.mems'))).trim();
      }
    } else {
      const enabled = isRoot
        ? mount.controllers
        : words(await this.r(join(dirname(dir), 'cgroup.subtree_control')));
      files = v2CoreFiles(isRoot, enabled, this.features);
      if (!isRoot) for (const c of enabled) files = { ...files, ...v2ControllerFiles(c, this.features) };
    }
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      if (!(await this.exists(path))) await this.store(path, content);
    }
  }

  private async attach(
    path: string,
    mount: FakeMount,
    pid: number,
    fail: (e: string) => never,
  ): Promise<void> {
    const dir = dirname(path);
    if (!Number.isSafeInteger(pid) || pid <= 0) fail('EINVAL');
    if (!this.alive.has(pid)) fail('ESRCH');
    if (mount.kind === 'v1' && mount.controllers.includes('cpuset') && dir !== mount.dir) {
      const cpus = (await this.r(join(dir, 'cpuset.cpus'))).trim();
      const mems = (await this.r(join(dir, 'cpuset.mems'))).trim();
      if (cpus === '' || mems === '') fail('ENOSPC');
    }
    if (
      mount.kind === 'v2' &&
      dir !== mount.dir &&
      words(await this.r(join(dir, 'cgroup.subtree_control'))).length
    ) {
      fail('EBUSY');
    }
    for (const other of await this.cgroupDirs(mount.dir)) await this.removePid(other, pid);
    await this.store(join(dir, 'cgroup.procs'), [...(await this.procsOf(dir)), pid].join('\n'));
    if (mount.kind === 'v1') await this.store(join(dir, 'tasks'), [...(await this.procsOf(dir))].join('\n'));
    await this.refresh();
  }

  private async subtreeControl(
    path: string,
    mount: FakeMount,
    v: string,
    fail: (e: string) => never,
  ): Promise<void> {
    const dir = dirname(path);
    const available = words(await this.r(join(dir, 'cgroup.controllers')));
    const enabled = new Set(words(await this.r(path)));
    for (const token of words(v)) {
      const name = token.slice(1);
      if (!/^[+-]/.test(token)) fail('EINVAL');
      if (token[0] === '+' && !available.includes(name)) fail('ENOENT');
      if (token[0] === '+') enabled.add(name);
      else enabled.delete(name);
    }
    if (dir !== mount.dir && enabled.size > 0 && (await this.procsOf(dir)).length > 0) fail('EBUSY');
    await this.store(path, [...enabled].join(' '));
    // The kernel adds the newly enabled controllers' files to every existing child.
    for (const child of await this.listDirs(dir)) {
      const childDir = join(dir, child);
      await this.store(join(childDir, 'cgroup.controllers'), [...enabled].join(' '));
      for (const c of enabled) {
        for (const [name, content] of Object.entries(v2ControllerFiles(c, this.features))) {
          if (!(await this.exists(join(childDir, name)))) await this.store(join(childDir, name), content);
        }
      }
    }
  }

  private async v1MemoryLimit(path: string, v: string, fail: (e: string) => never): Promise<void> {
    const n = int(v) ?? fail('EINVAL');
    const value = n === -1 ? V1_UNLIMITED : String(pageRound(n));
    const dir = dirname(path);
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    if (await this.exists(memsw)) {
      const isMemsw = path === memsw;
      const memory = BigInt(isMemsw ? (await this.r(join(dir, 'memory.limit_in_bytes'))).trim() : value);
      const total = BigInt(isMemsw ? value : (await this.r(memsw)).trim());
      if (memory > total) fail('EINVAL'); // mem_cgroup_resize_max: memory limit may not exceed memsw
    }
    await this.store(path, value);
  }

  private async cpuset(path: string, mount: FakeMount, v: string, fail: (e: string) => never): Promise<void> {
    if (v !== '') {
      const parent = join(dirname(dirname(path)), basename(path));
      const allowed = expand((await this.r(parent)).trim() || (mount.kind === 'v2' ? '0-3' : ''));
      const wanted = /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v) ? expand(v) : null;
      if (wanted === null || wanted.some((n) => !allowed.includes(n))) fail('EINVAL');
    }
    await this.store(path, v);
  }

  private end(pid: number): void {
    this.alive.delete(pid);
    this.dirty = true;
  }

  private async settle(): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      this.pending = this.refresh();
    }
    await this.pending;
  }

  private r(path: string): Promise<string> {
    return super.read(path);
  }

  private ro(path: string): Promise<string | null> {
    return super.readOptional(path);
  }

  /** Drops ended pids from every cgroup and recomputes the counters the kernel keeps. */
  private async refresh(): Promise<void> {
    for (const mount of this.mounts) {
      for (const dir of await this.cgroupDirs(mount.dir)) {
        const procs = (await this.procsOf(dir)).filter((p) => this.alive.has(p));
        await this.store(join(dir, 'cgroup.procs'), procs.join('\n'));
        if (await this.exists(join(dir, 'pids.current')))
          await this.store(join(dir, 'pids.current'), String(procs.length));
        const events = join(dir, 'cgroup.events');
        if (await this.exists(events)) {
          const frozen = parseKeyValues(await this.r(events)).frozen ?? 0;
          await this.store(events, `populated ${procs.length > 0 ? 1 : 0}\nfrozen ${frozen}`);
        }
      }
    }
  }

  private async populated(dir: string): Promise<number> {
    return (await this.procsOf(dir)).length > 0 ? 1 : 0;
  }

  private async removePid(dir: string, pid: number): Promise<void> {
    const procs = await this.procsOf(dir);
    if (procs.includes(pid))
      await this.store(join(dir, 'cgroup.procs'), procs.filter((p) => p !== pid).join('\n'));
  }

  private async procsOf(dir: string): Promise<number[]> {
    return parsePids((await this.ro(join(dir, 'cgroup.procs'))) ?? '');
  }

  private async cgroupDirs(dir: string): Promise<string[]> {
    const out = [dir];
    for (const child of await this.listDirs(dir)) out.push(...(await this.cgroupDirs(join(dir, child))));
    return out;
  }

  private mountOf(path: string): FakeMount {
    const m = this.mounts
      .filter((x) => path === x.dir || path.startsWith(x.dir + '/'))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
    if (!m) throw CgroupError.errno('access', path, 'ENOENT');
    return m;
  }

  private async store(path: string, content: string): Promise<void> {
    await fsp.writeFile(path, content === '' ? '' : content + '\n');
  }
}

function int(v: string | undefined): number | undefined {
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

function pageRound(n: number): number {
  return Math.floor(n / PAGE) * PAGE;
}

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

function expand(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}
