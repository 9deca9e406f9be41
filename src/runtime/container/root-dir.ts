import * as fs from 'node:fs';
import { posix } from 'node:path';
import {
  O_PATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  SyscallError,
  type Syscalls,
} from '../../platform/ffi';
import { InRootError } from './in-root';

const { O_DIRECTORY, O_NOFOLLOW } = fs.constants;
const O_CLOEXEC = 0o2000000;
/** Linux's MAXSYMLINKS: more links than this in one lookup is ELOOP. */
const MAX_LINKS = 40;
/**
 * openat2 answers EAGAIN when a rename anywhere raced the lookup (RESOLVE_IN_ROOT checks the
 * rename seqlock to keep `..` inside) and EXDEV when it saw an escape; both are retried.
 */
const RETRIES = 64;

/**
 * A name below an open directory: `/proc/self/fd/<fd>` is a magic link, so the kernel jumps to
 * the directory the fd holds (no path is walked again) and looks up only `name`, one component.
 * With O_NOFOLLOW, lstat, unlink, mkdir, symlink or link, a symlink swapped in there is never
 * followed. This is how Node's fs calls stand in for the *at(2) family.
 */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** A container path made absolute and cleaned the way Docker does (filepath.Clean). */
export function cleanPath(p: string): string {
  return posix.normalize(`/${p}`).replace(/(.)\/$/, '$1');
}

/**
 * A container's root directory held open, and paths resolved below it by file descriptor
 * (CVE-2018-15664). A path string resolved once and used later can be turned by a process in
 * the container: it swaps a directory of the path for a symlink to `/`, and the host follows
 * it to its own root. Here nothing is looked up by a host path after the root is open:
 *
 *  - openat2(RESOLVE_IN_ROOT) where the kernel has it (5.6+): the kernel resolves the whole
 *    path as if the root were `/` — `..` stops there and symlinks, absolute or relative, are
 *    followed inside it — atomically against renames;
 *  - otherwise a walk from the root's fd, one O_PATH|O_NOFOLLOW open per component, symlinks
 *    read and resolved by this code inside the root (the same rules).
 *
 * The fd answered is then used by callers through `fdPath`, for one name at a time.
 */
export class RootDir {
  private constructor(
    private readonly sys: Syscalls,
    readonly fd: number,
    readonly kernelResolves: boolean,
  ) {}

  /** `root` is a host path (`/proc/<pid>/root` of a running container, or a mounted view). */
  static open(sys: Syscalls, root: string, opts: { walkOnly?: boolean } = {}): RootDir {
    const fd = fs.openSync(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return new RootDir(sys, fd, !opts.walkOnly && hasOpenat2(sys, fd));
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /**
   * `p` opened inside the root with `flags` (O_PATH, O_DIRECTORY, O_RDONLY…), every symlink
   * on the way followed inside it; the last component only with `followLast` (otherwise a
   * symlink there is opened itself with O_PATH, or is ELOOP without it). Errors are
   * InRootError (ENOENT, ENOTDIR, ELOOP).
   */
  open(p: string, flags: number, opts: { followLast?: boolean } = {}): number {
    const f = flags | O_CLOEXEC | (opts.followLast ? 0 : O_NOFOLLOW);
    if (this.kernelResolves) {
      for (let i = 0; ; i++) {
        try {
          return this.sys.openat2(this.fd, cleanPath(p), f, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        } catch (err) {
          const code = (err as SyscallError).code;
          if ((code === 'EAGAIN' || code === 'EXDEV') && i < RETRIES) continue;
          throw inRootError(err, p);
        }
      }
    }
    const { fd } = this.walk(p, opts.followLast ?? false);
    if (fd === undefined) throw new InRootError('ENOENT', `${p}: no such file or directory`);
    try {
      // Reopen the walk's O_PATH fd with the caller's flags: through its magic link, never by name.
      return fs.openSync(fdPath(fd), f & ~O_NOFOLLOW);
    } catch (err) {
      throw inRootError(err, p);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The container path `p` names once every symlink is followed inside the root (a stat's linkTarget). */
  realpath(p: string): string {
    const { fd, path } = this.walk(p, true);
    if (fd !== undefined) fs.closeSync(fd);
    return path;
  }

  /**
   * The userspace resolver: an O_PATH|O_NOFOLLOW fd per directory reached, a stack of them for
   * `..` (which stops at the root). Answers the final component's fd (undefined when only it is
   * missing) and its container path.
   */
  private walk(p: string, followLast: boolean): { fd: number | undefined; path: string } {
    const pending = split(p);
    const stack: Array<{ fd: number; name: string }> = [];
    const at = () => stack[stack.length - 1]?.fd ?? this.fd;
    const names = () => `/${stack.map((s) => s.name).join('/')}`;
    let links = 0;
    try {
      while (pending.length) {
        const part = pending.shift()!;
        if (part === '..') {
          const up = stack.pop();
          if (up) fs.closeSync(up.fd);
          continue;
        }
        let fd: number;
        try {
          fd = fs.openSync(fdPath(at(), part), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || pending.length) throw inRootError(err, p);
          return { fd: undefined, path: posix.join(names(), part) };
        }
        const st = fs.fstatSync(fd);
        if (st.isSymbolicLink() && (pending.length || followLast)) {
          fs.closeSync(fd);
          if (++links > MAX_LINKS) throw new InRootError('ELOOP', `${p}: too many levels of symbolic links`);
          let target: string;
          try {
            target = fs.readlinkSync(fdPath(at(), part));
          } catch (err) {
            // EINVAL: no longer a symlink (a process in the container swapped it back): look again.
            if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw inRootError(err, p);
            pending.unshift(part);
            continue;
          }
          if (target.startsWith('/')) while (stack.length) fs.closeSync(stack.pop()!.fd);
          pending.unshift(...split(target));
          continue;
        }
        if (pending.length && !st.isDirectory()) {
          fs.closeSync(fd);
          throw new InRootError('ENOTDIR', `${p}: not a directory`);
        }
        stack.push({ fd, name: part });
      }
      const path = names();
      const last = stack.pop();
      return { fd: last?.fd ?? fs.openSync(fdPath(this.fd), O_PATH | O_CLOEXEC), path };
    } finally {
      for (const s of stack) fs.closeSync(s.fd);
    }
  }
}

function split(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function hasOpenat2(sys: Syscalls, root: number): boolean {
  try {
    fs.closeSync(sys.openat2(root, '.', O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT));
    return true;
  } catch (err) {
    if (err instanceof SyscallError && (err.code === 'ENOSYS' || err.code === 'EPERM')) return false;
    throw err;
  }
}

function inRootError(err: unknown, p: string): Error {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return new InRootError('ENOENT', `${p}: no such file or directory`);
  if (code === 'ENOTDIR') return new InRootError('ENOTDIR', `${p}: not a directory`);
  if (code === 'ELOOP') return new InRootError('ELOOP', `${p}: too many levels of symbolic links`);
  return err as Error;
}
