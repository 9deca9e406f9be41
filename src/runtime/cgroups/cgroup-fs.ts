import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import { CgroupError, errnoOf } from './cgroup.errors';

/**
 * All I/O of the cgroup drivers: cgroupfs files and directories, plus signalling the processes found in
 * them. Tests substitute a fake (testing/fake-cgroup-fs.ts) that emulates what the kernel does on mkdir
 * and on writes. Every failure is a CgroupError naming the operation and the path.
 */
export interface CgroupFs {
  read(path: string): Promise<string>;
  /** The file's content, or null when it does not exist (a controller feature this kernel lacks). */
  readOptional(path: string): Promise<string | null>;
  write(path: string, value: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Creates one directory; false if it already existed. */
  mkdir(path: string): Promise<boolean>;
  /** Removes one (empty) cgroup directory; a missing one is not an error. */
  rmdir(path: string): Promise<void>;
  /** Names of the subdirectories (child cgroups); [] when the directory does not exist. */
  listDirs(path: string): Promise<string[]>;
  /** Sends a signal; false when the process is already gone (ESRCH). */
  kill(pid: number, signal: NodeJS.Signals): boolean;
}

/**
 * cgroupfs calls are made synchronously. They are in-kernel operations on kernfs that take
 * microseconds; through libuv's thread pool each costs an open/write/close round trip per
 * file, and those queue behind whatever else the service is doing. Measured in the service
 * on the development host (v1, 6 hierarchies; bench/README.md, launch): creating a cgroup
 * with its limits took a median 9.0 ms async and 0.7 ms sync, reading stats 3.1 vs 0.4,
 * removing it 3.7 vs 0.5. The slow call is a migration through cgroup.procs, which can wait
 * for an RCU grace period; on v1 the init shim moves itself instead (native/shim/main.c).
 */
export class NodeCgroupFs implements CgroupFs {
  async read(path: string): Promise<string> {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw CgroupError.io('read', path, err);
    }
  }

  async readOptional(path: string): Promise<string | null> {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return null;
      throw CgroupError.io('read', path, err);
    }
  }

  async write(path: string, value: string): Promise<void> {
    // cgroupfs acts on each write(2) as one command, so the value goes in a single write. No O_CREAT: a
    // control file that does not exist must fail (ENOENT), not be created. O_WRONLY because some control
    // files (cgroup.kill, memory.force_empty) are write-only and kernfs refuses to open them for reading.
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
      writeSync(fd, value);
    } catch (err) {
      throw CgroupError.io('write', path, err);
    } finally {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          /* the write's outcome is what matters */
        }
      }
    }
  }

  async exists(path: string): Promise<boolean> {
    return existsSync(path);
  }

  async mkdir(path: string): Promise<boolean> {
    try {
      mkdirSync(path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw CgroupError.io('mkdir', path, err);
    }
  }

  async rmdir(path: string): Promise<void> {
    // rmdir(2), not a recursive rm: on cgroupfs the control files vanish with the directory, and the kernel
    // answers EBUSY while tasks or child cgroups remain, which is exactly the check we want.
    try {
      rmdirSync(path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw CgroupError.io('rmdir', path, err);
    }
  }

  async listDirs(path: string): Promise<string[]> {
    try {
      const entries = readdirSync(path, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw CgroupError.io('readdir', path, err);
    }
  }

  kill(pid: number, signal: NodeJS.Signals): boolean {
    try {
      process.kill(pid, signal);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ESRCH') return false;
      throw CgroupError.io(`kill ${signal}`, `pid ${pid}`, err);
    }
  }
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events, oom_control) into a map. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** Parses cgroup.procs / pids: one pid per line. */
export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map(Number);
}

/** Parses a single-number control file; "max" (v1 pids, v2) means unlimited (-1). */
export function parseLimit(text: string): number {
  const value = text.trim().split(/\s+/)[0] ?? '';
  if (value === 'max') return -1;
  const n = Number(value);
  // v1 reports "unlimited" as PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages); anything that
  // large is no real limit, and would not survive as an exact JavaScript number anyway.
  return n >= 2 ** 62 ? -1 : n;
}
