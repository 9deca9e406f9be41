import * as fs from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { WardenError } from '../../platform/errors';
import { O_PATH } from '../../platform/ffi';
import { InRootError } from '../container/in-root';
import { fdPath, type RootDir } from '../container/root-dir';

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = fs.constants;

export interface ExtractOptions {
  /** Keep the archive's owners (`docker cp -a`); otherwise everything is the container's root's. */
  copyUidGid: boolean;
  /** Refuse to replace a directory with a non-directory or the other way round. */
  noOverwriteDirNonDir: boolean;
}

/**
 * The entry's path below the extraction point, or why it cannot be extracted: absolute names
 * are taken as relative (as tar does), a name whose `..` climbs above the extraction point
 * would land outside and is refused.
 */
export function entryPath(name: string): string | { refused: string } {
  const n = posix.normalize(`./${name}`).replace(/\/$/, '');
  if (n === '..' || n.startsWith('../'))
    return { refused: `entry '${name}' would land outside the destination` };
  return n === '.' ? '' : n;
}

const FILE_TYPES = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link']);

/** Every entry is checked before anything is written: a refused archive changes nothing. */
export async function checkArchive(tarFile: string): Promise<void> {
  const problems: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const p = entryPath(h.name);
    if (typeof p !== 'string') problems.push(p.refused);
    else if (!FILE_TYPES.has(h.type ?? 'file'))
      problems.push(`entry '${h.name}': ${h.type} entries are not copied into containers`);
    if (h.type === 'link' && typeof entryPath(h.linkname ?? '') !== 'string')
      problems.push(`hard link '${h.name}' points outside the destination`);
    stream.on('end', next);
    stream.resume();
  });
  try {
    await pipeline(fs.createReadStream(tarFile), ex);
  } catch (err) {
    throw new WardenError('VALIDATION_FAILED', `the archive is not a tar file: ${(err as Error).message}`);
  }
  if (problems.length)
    throw new WardenError('VALIDATION_FAILED', `refused: ${problems.slice(0, 5).join('; ')}`);
}

/**
 * Extracts a checked archive into `dest` (a container path, links resolved) under `root`.
 * Each entry's directory is opened inside the root (RootDir: a symlink in the archive or the
 * container cannot lead out, even one swapped in during the copy) and the entry is made by
 * name below that fd: files with O_EXCL|O_NOFOLLOW, owners and modes through the open fd.
 */
export async function extractInRoot(
  root: RootDir,
  dest: string,
  tarFile: string,
  opts: ExtractOptions,
): Promise<void> {
  const ex = tar.extract();
  const dirTimes: Array<[string, Date]> = [];
  ex.on('entry', (h, stream, next) => {
    extractEntry(root, dest, h, stream as unknown as Readable, opts, dirTimes).then(
      () => next(),
      (err: unknown) => next(err as Error),
    );
  });
  try {
    await pipeline(fs.createReadStream(tarFile), ex);
    // Directories last: writing into them moved their times.
    for (const [p, t] of dirTimes.reverse()) {
      const fd = root.open(p, O_RDONLY | O_DIRECTORY);
      try {
        fs.futimesSync(fd, t, t);
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch (err) {
    if (err instanceof WardenError) throw err;
    if (err instanceof InRootError) throw new WardenError('VALIDATION_FAILED', err.message);
    throw new WardenError(
      'VALIDATION_FAILED',
      `extracting failed: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
}

async function extractEntry(
  root: RootDir,
  dest: string,
  h: tar.Header,
  stream: Readable,
  opts: ExtractOptions,
  dirTimes: Array<[string, Date]>,
): Promise<void> {
  const rel = entryPath(h.name) as string;
  const target = posix.join(dest, rel);
  const type = h.type ?? 'file';
  const isDir = type === 'directory';
  if (target === '/' || !rel) {
    // The extraction point itself (`./`): already a directory; nothing to make.
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    return;
  }
  const parent = dirFd(root, posix.dirname(target));
  const name = posix.basename(target);
  const host = fdPath(parent, name);
  try {
    const existing = lstatOrUndefined(host);
    if (existing && opts.noOverwriteDirNonDir && existing.isDirectory() !== isDir)
      throw new WardenError(
        'VALIDATION_FAILED',
        `cannot overwrite ${existing.isDirectory() ? 'directory' : 'non-directory'} ${target} with ${isDir ? 'a directory' : 'a non-directory'}`,
      );
    if (existing && !(isDir && existing.isDirectory())) removeAt(parent, name);
    const uid = opts.copyUidGid ? (h.uid ?? 0) : 0;
    const gid = opts.copyUidGid ? (h.gid ?? 0) : 0;
    const mode = (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777;
    const mtime = h.mtime ?? new Date();
    if (isDir) {
      if (!existing) fs.mkdirSync(host, mode);
      withFd(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, (fd) => {
        fs.fchownSync(fd, uid, gid);
        fs.fchmodSync(fd, mode);
      });
      dirTimes.push([target, mtime]);
    } else if (type === 'symlink') {
      fs.symlinkSync(h.linkname ?? '', host);
      fs.lchownSync(host, uid, gid);
    } else if (type === 'link') {
      // link(2) never follows the old path's last name; its directory is opened inside the root.
      const from = posix.join(dest, entryPath(h.linkname ?? '') as string);
      const fromDir = root.open(posix.dirname(from), O_PATH | O_DIRECTORY, { followLast: true });
      try {
        fs.linkSync(fdPath(fromDir, posix.basename(from)), host);
      } finally {
        fs.closeSync(fromDir);
      }
    } else {
      const fd = fs.openSync(host, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        await pipeline(stream, fs.createWriteStream('', { fd, autoClose: false }));
        fs.fchownSync(fd, uid, gid);
        fs.fchmodSync(fd, mode);
        fs.futimesSync(fd, mtime, mtime);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
  } finally {
    fs.closeSync(parent);
  }
  stream.resume();
  await new Promise((resolve) => stream.on('end', resolve));
}

/** The directory `dir` (a container path) opened inside the root, made (0755) where the archive did not list it. */
function dirFd(root: RootDir, dir: string): number {
  try {
    return root.open(dir, O_PATH | O_DIRECTORY, { followLast: true });
  } catch (err) {
    if (!(err instanceof InRootError && err.code === 'ENOENT') || dir === '/') throw err;
  }
  const parent = dirFd(root, posix.dirname(dir));
  try {
    fs.mkdirSync(fdPath(parent, posix.basename(dir)), 0o755);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.closeSync(parent);
  }
  return root.open(dir, O_PATH | O_DIRECTORY, { followLast: true });
}

/** `rm -r` of `name` below `parent`, descending by fd with O_NOFOLLOW: a swapped-in link is removed, not followed. */
function removeAt(parent: number, name: string): void {
  const host = fdPath(parent, name);
  if (!fs.lstatSync(host).isDirectory()) return fs.unlinkSync(host);
  withFd(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, (fd) => {
    for (const child of fs.readdirSync(fdPath(fd))) removeAt(fd, child);
  });
  fs.rmdirSync(host);
}

function withFd(p: string, flags: number, fn: (fd: number) => void): void {
  const fd = fs.openSync(p, flags);
  try {
    fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
