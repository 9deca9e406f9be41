import * as fs from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { WardenError } from '../../platform/errors';
import { InRootError, resolveInRoot } from '../container/in-root';

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
 * Extracts a checked archive into `dest` (a container path) under `root`. Every path is
 * resolved inside the root (a symlink in the archive or the container cannot lead out), and
 * files are opened with O_NOFOLLOW.
 */
export async function extractInRoot(
  root: string,
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
  // Directories last: writing into them moved their times.
  for (const [p, t] of dirTimes.reverse()) fs.utimesSync(p, t, t);
}

async function extractEntry(
  root: string,
  dest: string,
  h: tar.Header,
  stream: Readable,
  opts: ExtractOptions,
  dirTimes: Array<[string, Date]>,
): Promise<void> {
  const rel = entryPath(h.name) as string;
  const target = posix.join(dest, rel);
  makeParents(root, posix.dirname(target));
  const host = resolveInRoot(root, target);
  const existing = lstatOrUndefined(host);
  const type = h.type ?? 'file';
  const isDir = type === 'directory';
  if (existing && opts.noOverwriteDirNonDir && existing.isDirectory() !== isDir)
    throw new WardenError(
      'VALIDATION_FAILED',
      `cannot overwrite ${existing.isDirectory() ? 'directory' : 'non-directory'} ${target} with ${isDir ? 'a directory' : 'a non-directory'}`,
    );
  if (existing && !(isDir && existing.isDirectory())) fs.rmSync(host, { recursive: true, force: true });
  const uid = opts.copyUidGid ? (h.uid ?? 0) : 0;
  const gid = opts.copyUidGid ? (h.gid ?? 0) : 0;
  const mode = (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777;
  const mtime = h.mtime ?? new Date();
  if (isDir) {
    if (!existing) fs.mkdirSync(host, mode);
    fs.lchownSync(host, uid, gid);
    fs.chmodSync(host, mode);
    dirTimes.push([host, mtime]);
  } else if (type === 'symlink') {
    fs.symlinkSync(h.linkname ?? '', host);
    fs.lchownSync(host, uid, gid);
  } else if (type === 'link') {
    const from = resolveInRoot(root, posix.join(dest, entryPath(h.linkname ?? '') as string));
    fs.linkSync(from, host);
  } else {
    const fd = fs.openSync(
      host,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    await pipeline(stream, fs.createWriteStream('', { fd }));
    fs.lchownSync(host, uid, gid);
    fs.chmodSync(host, mode);
    fs.utimesSync(host, mtime, mtime);
    return;
  }
  stream.resume();
  await new Promise((resolve) => stream.on('end', resolve));
}

/** The directories above an entry, made inside the root when the archive did not list them. */
function makeParents(root: string, dir: string): void {
  let at = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    at = posix.join(at, part);
    const host = resolveInRoot(root, at, { followLast: true });
    if (!fs.existsSync(host)) fs.mkdirSync(host, 0o755);
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
