import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WardenConfig } from '../../platform/config';
import { createCgroupDriver } from '../cgroups';
import { createLibcFileLocks } from '../../platform/ffi';
import type { FileLocks } from '../../platform/ffi';

/**
 * One Warden per runtime scope (issue 13, point 5). A Warden that owns the runtime kills, at
 * start, what a previous Warden left under its cgroup parent, and keeps its state in its data
 * dir: a second one on either would take the first one's containers for leftovers. So the
 * process that owns the runtime (`up` and `serve`; `warden worker` runs no containers and
 * joins a `serve`'s data dir) holds two locks for its whole life:
 *
 *   <data dir>/run/instance.lock                      the data dir
 *   /run/warden/cgroup-<sha256 of parent paths>.lock  the cgroup parent, as resolved in every
 *                                                     hierarchy (the same WARDEN_CGROUP_PARENT
 *                                                     under another service cgroup is another
 *                                                     scope)
 *
 * flock(2), not a pid file: the lock belongs to the open file, so it ends with the process,
 * however it ends (kill -9 included), and a leftover file never blocks. The fd is
 * close-on-exec (libuv opens every file so), so neither the shim nor the worker child can
 * carry the lock past us. Each holder writes who it is into the file, for the refusal message.
 */
export interface InstanceHolder {
  pid: number;
  role: string;
  startedAt: string;
  dataDir: string;
  dockerSocket: string;
  cgroupParent: string;
  /** The HTTP address once listening (port 0 resolves then). */
  http?: string;
}

export type InstanceScope = 'data dir' | 'cgroup parent';

export class InstanceLockedError extends Error {
  constructor(
    readonly scope: InstanceScope,
    /** The data dir, or the cgroup parent's resolved paths. */
    readonly target: string,
    readonly holder: InstanceHolder | undefined,
  ) {
    const who = holder
      ? `pid ${holder.pid} (warden ${holder.role}), started ${holder.startedAt}, data dir ${holder.dataDir}, ` +
        `${holder.http ?? 'HTTP not listening yet'}, socket ${holder.dockerSocket}`
      : 'a process that has not written its details yet';
    const fix =
      scope === 'data dir'
        ? 'stop that Warden, or give this one another WARDEN_DATA_DIR'
        : 'stop that Warden, or give this one another WARDEN_CGROUP_PARENT';
    const risk =
      scope === 'data dir'
        ? `its state (database, containers, keys) is that Warden's`
        : `a second Warden there would kill its containers at start`;
    super(`${scope} ${target} is held by another running Warden: ${who}. Not starting: ${risk}; ${fix}`);
    this.name = 'InstanceLockedError';
  }
}

export interface InstanceLock {
  /** The lock files held (data dir first). */
  readonly files: readonly string[];
  /** Adds what is known only later (the HTTP address) to what the lock files say. */
  update(patch: Partial<Pick<InstanceHolder, 'http'>>): void;
  /** Closes the fds: the locks end. Idempotent. */
  release(): void;
}

export interface InstanceLockOptions {
  /** Where cgroup-parent locks live (tests: a temp dir). */
  lockDir?: string;
  /** The parent's directory per hierarchy; default: resolved as the cgroup driver does. */
  cgroupParentPaths?: Readonly<Record<string, string>>;
  locks?: FileLocks;
}

export const DEFAULT_LOCK_DIR = '/run/warden';

interface Held {
  fd: number;
  file: string;
}

/** Takes both locks or neither; throws InstanceLockedError naming the holder. */
export async function acquireInstanceLock(
  config: WardenConfig,
  role: string,
  opts: InstanceLockOptions = {},
): Promise<InstanceLock> {
  const locks = opts.locks ?? createLibcFileLocks();
  const parentPaths =
    opts.cgroupParentPaths ??
    (await createCgroupDriver({ parentName: config.runtime.cgroupParent })).parentPaths;
  const parentKey = Object.values(parentPaths).sort().join('\n');
  const parentFile = path.join(
    opts.lockDir ?? DEFAULT_LOCK_DIR,
    `cgroup-${createHash('sha256').update(parentKey).digest('hex').slice(0, 24)}.lock`,
  );
  const holder: InstanceHolder = {
    pid: process.pid,
    role,
    startedAt: new Date().toISOString(),
    dataDir: config.dataDir,
    dockerSocket: config.dockerSocket,
    cgroupParent: Object.values(parentPaths).sort().join(', '),
  };

  const held: Held[] = [];
  const release = () => {
    for (const h of held.splice(0)) fs.closeSync(h.fd);
  };
  try {
    fs.mkdirSync(path.join(config.dataDir, 'run'), { recursive: true, mode: 0o700 });
    held.push(
      take(locks, path.join(config.dataDir, 'run', 'instance.lock'), 'data dir', config.dataDir, 0o700),
    );
    held.push(take(locks, parentFile, 'cgroup parent', holder.cgroupParent, 0o755));
  } catch (err) {
    release();
    throw err;
  }
  const write = () => {
    const text = Buffer.from(JSON.stringify(holder) + '\n');
    for (const h of held) {
      fs.ftruncateSync(h.fd, 0);
      fs.writeSync(h.fd, text, 0, text.length, 0);
    }
  };
  write();
  return {
    files: held.map((h) => h.file),
    update(patch) {
      Object.assign(holder, patch);
      write();
    },
    release,
  };
}

function take(locks: FileLocks, file: string, scope: InstanceScope, target: string, dirMode: number): Held {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: dirMode });
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  let taken = false;
  try {
    taken = locks.tryLockExclusive(fd);
  } finally {
    if (!taken) fs.closeSync(fd);
  }
  if (!taken) throw new InstanceLockedError(scope, target, readHolder(file));
  return { fd, file };
}

function readHolder(file: string): InstanceHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as InstanceHolder;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined; // between its lock and its write: named generically
  }
}
