import * as fs from 'node:fs';
import * as path from 'node:path';

/** Linux's MAXSYMLINKS: more links than this in one lookup is ELOOP. */
const MAX_LINKS = 40;

export class InRootError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'ELOOP' | 'ENOTDIR',
    message: string,
  ) {
    super(message);
  }
}

/**
 * `p` as the container sees it, resolved under `root` on the host one component at a time,
 * the way the kernel's RESOLVE_IN_ROOT does: `..` stops at the root, and a symlink — absolute
 * or relative — is read and followed inside the root, never out of it (CVE-2018-15664 is a
 * link to `/` or `../../` in the image). The result has no symlink among its directories; the
 * last component is followed only with `followLast`. A missing last component is fine (the
 * caller may create it); a missing directory before it is ENOENT.
 *
 * What this cannot close is a race with a process in a running container that swaps a
 * directory for a link between this answer and its use; callers that write open the final
 * path with O_NOFOLLOW and work below it by name only.
 */
export function resolveInRoot(root: string, p: string, opts: { followLast?: boolean } = {}): string {
  const pending = splitPath(p);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (pending.length) throw new InRootError('ENOENT', `${p}: no such file or directory`);
      done.push(part);
      break;
    }
    if (st.isSymbolicLink() && (pending.length || opts.followLast)) {
      if (++links > MAX_LINKS) throw new InRootError('ELOOP', `${p}: too many levels of symbolic links`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...splitPath(target));
      continue;
    }
    if (pending.length && !st.isDirectory()) throw new InRootError('ENOTDIR', `${p}: not a directory`);
    done.push(part);
  }
  return path.join(root, ...done);
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}
