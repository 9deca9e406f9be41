import { Inject, Injectable } from '@nestjs/common';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AuditService } from '../../audit';
import { WardenError } from '../../platform/errors';
import type { Syscalls } from '../../platform/ffi';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { O_PATH } from '../../platform/ffi';
import { auditContainer, type ContainerRecord } from '../container/container';
import { InRootError } from '../container/in-root';
import { cleanPath, fdPath, RootDir } from '../container/root-dir';
import { SYSCALLS } from '../container/runtime.tokens';
import { ContainerRoots } from './container-root';
import { checkArchive, extractInRoot, type ExtractOptions } from './extract';
import { goFileMode, type PathStat } from './path-stat';

/** One change of `docker diff`: 0 modified, 1 added, 2 deleted. */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/**
 * Files in and out of a container (issue 17, point 2): the archive API behind `docker cp`,
 * `docker export` and `docker diff`. Paths are resolved inside the container's root
 * by file descriptor (RootDir: openat2 RESOLVE_IN_ROOT), so neither a path nor a symlink in
 * the container leads out of it, even one a process in the container swaps in meanwhile
 * (CVE-2018-15664).
 */
@Injectable()
export class ContainerArchive {
  constructor(
    private readonly roots: ContainerRoots,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
  ) {}

  stat(caller: Caller, ref: string, p: string): Promise<PathStat> {
    return this.inRoot(caller, ref, async (root, c) => {
      const at = parentOf(root, p, c.name);
      try {
        return statAt(root, at, p, c.name);
      } finally {
        at.close();
      }
    });
  }

  /**
   * A tar of `p` (its last component as is, a symlink archived as a symlink) written to `out`.
   * tar gets the parent directory as its fd 3 and starts there (`-C /proc/self/fd/3`); below it
   * GNU tar opens every directory with O_NOFOLLOW relative to its parent's fd, so a swap during
   * the copy is archived as the symlink it became, never followed.
   */
  async get(caller: Caller, ref: string, p: string, begin: (stat: PathStat) => Writable): Promise<void> {
    await this.inRoot(caller, ref, async (root, c) => {
      const at = parentOf(root, p, c.name);
      try {
        const stat = statAt(root, at, p, c.name);
        await runTar(
          ['-C', '/proc/self/fd/3', ...(at.name ? ['--', at.name] : ['.'])],
          () => begin(stat),
          at.fd,
        );
      } finally {
        at.close();
      }
    });
  }

  /** The whole root filesystem, without the kernel's and Warden's mounts (`docker export`). */
  async export(caller: Caller, ref: string, begin: () => Writable): Promise<void> {
    await this.inRoot(caller, ref, async (root) => {
      await runTar(['--one-file-system', '-C', '/proc/self/fd/3', '.'], begin, root.fd);
    });
  }

  private inRoot<T>(
    caller: Caller,
    ref: string,
    fn: (root: RootDir, c: ContainerRecord) => Promise<T>,
  ): Promise<T> {
    return this.roots.with(ref, scopeOf(caller.principal), async (host, c) => {
      const root = RootDir.open(this.sys, host);
      try {
        return await fn(root, c);
      } finally {
        root.close();
      }
    });
  }

  /**
   * Extracts a tar into the directory `p` (`docker cp src c:/p`). The upload is spooled and
   * hashed first: an archive with an entry that would land outside is refused before anything
   * is written, and the audit event names the copy by its sha256.
   */
  async put(caller: Caller, ref: string, p: string, body: Readable, opts: ExtractOptions): Promise<void> {
    // Whose container it is comes before what was sent: another team's is a 404 whatever the upload.
    await this.roots.resolve(ref, scopeOf(caller.principal));
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cp-'));
    const file = path.join(spool, 'in.tar');
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      body.on('data', (d: Buffer) => {
        hash.update(d);
        bytes += d.length;
      });
      await pipeline(body, fs.createWriteStream(file, { mode: 0o600 }));
      const digest = `sha256:${hash.digest('hex')}`;
      await checkArchive(file);
      const c = await this.inRoot(caller, ref, async (root, c) => {
        if (c.spec.readOnlyRootfs)
          throw new WardenError('VALIDATION_FAILED', `container rootfs is marked read-only: ${c.name}`);
        const dest = resolveDir(root, p, c.name);
        await extractInRoot(root, dest, file, opts);
        return c;
      });
      await this.audit.record({
        type: 'container.files.copied',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { ...auditContainer(c), path: p, digest, bytes, copyUidGid: opts.copyUidGid },
      });
    } finally {
      fs.rmSync(spool, { recursive: true, force: true });
    }
  }

  /** What the writable layer changed, from the overlay's upper dir (whiteouts are deletions). */
  async changes(caller: Caller, ref: string): Promise<Change[]> {
    const c = await this.roots.resolve(ref, scopeOf(caller.principal));
    const lowers = await this.roots.lowerdirs(c);
    const upper = (await this.roots.mountedFiles(c)).upper;
    const out: Change[] = [];
    const inLower = (rel: string) => lowers.some((l) => lstatOrUndefined(path.join(l, rel)));
    const walk = (rel: string, added: boolean) => {
      for (const name of fs.readdirSync(path.join(upper, rel)).sort()) {
        const r = path.posix.join(rel, name);
        const st = fs.lstatSync(path.join(upper, r));
        if (st.isCharacterDevice() && st.rdev === 0) {
          out.push({ Path: r, Kind: 2 });
          continue;
        }
        const isNew = added || !inLower(r);
        out.push({ Path: r, Kind: isNew ? 1 : 0 });
        if (st.isDirectory()) walk(r, isNew);
      }
    };
    if (fs.existsSync(upper)) walk('/', false);
    return out;
  }
}

/** Where `p` is: its parent directory's fd (the root's own for `/`) and its last name. */
interface At {
  fd: number;
  name: string | undefined;
  close(): void;
}

function parentOf(root: RootDir, p: string, container: string): At {
  const clean = cleanPath(p);
  if (clean === '/') return { fd: root.fd, name: undefined, close: () => undefined };
  let fd: number;
  try {
    fd = root.open(path.posix.dirname(clean), O_PATH | fs.constants.O_DIRECTORY, { followLast: true });
  } catch (err) {
    if (err instanceof InRootError) throw notFound(p, container);
    throw err;
  }
  return { fd, name: path.posix.basename(clean), close: () => fs.closeSync(fd) };
}

function statAt(root: RootDir, at: At, p: string, container: string): PathStat {
  // The root itself by its fd (an lstat of /proc/self/fd/N would see the magic link).
  const st = at.name === undefined ? fs.fstatSync(at.fd) : lstatOrUndefined(fdPath(at.fd, at.name));
  if (!st) throw notFound(p, container);
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    try {
      linkTarget = root.realpath(p);
    } catch {
      // Swapped meanwhile (no longer a link): its stat says link, its target is unknown.
      linkTarget = readlinkOr(fdPath(at.fd, at.name), '');
    }
  }
  return {
    name: at.name ?? '/',
    size: st.size,
    mode: goFileMode(st),
    mtime: st.mtime.toISOString(),
    linkTarget,
  };
}

/** The extraction point, a directory, as a container path with every link resolved. */
function resolveDir(root: RootDir, p: string, container: string): string {
  let fd: number;
  try {
    fd = root.open(p, O_PATH, { followLast: true });
  } catch (err) {
    if (err instanceof InRootError) throw notFound(p, container);
    throw err;
  }
  try {
    if (!fs.fstatSync(fd).isDirectory())
      throw new WardenError('VALIDATION_FAILED', `extraction point is not a directory: ${p}`);
  } finally {
    fs.closeSync(fd);
  }
  try {
    return root.realpath(p);
  } catch (err) {
    // The path changed since it was opened (a process in the container swapped it): as missing.
    if (err instanceof InRootError) throw notFound(p, container);
    throw err;
  }
}

function notFound(p: string, container: string): WardenError {
  return new WardenError(
    'CONTAINER_PATH_NOT_FOUND',
    `Could not find the file ${p} in container ${container}`,
    {
      path: p,
    },
  );
}

function readlinkOr(p: string, otherwise: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return otherwise;
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * GNU tar writing to the stream `begin` hands back (never follows links: no -h); `dirFd`
 * becomes its fd 3. The stream is opened first: a client already gone throws there, before
 * any tar runs.
 */
async function runTar(args: string[], begin: () => Writable, dirFd: number): Promise<void> {
  const out = begin();
  const child = spawn('tar', ['--numeric-owner', '-cf', '-', ...args], {
    stdio: ['ignore', 'pipe', 'pipe', dirFd],
  }) as ChildProcessByStdio<null, Readable, Readable>;
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    // A tar that could not start (ENOENT) or be signalled: its error says why.
    child.on('error', (e) => {
      err ||= e.message;
      if (child.pid === undefined) resolve(null);
    });
  });
  // A client that stops reading (the docker CLI closes after the entries it needs) ends the copy.
  let readerGone = false;
  await pipeline(child.stdout, out).catch(() => {
    readerGone = true;
    child.kill('SIGKILL');
  });
  const code = await exited;
  if (readerGone) return;
  // 1 is "some files changed while being read": a running container's, not a failure.
  if (code !== 0 && code !== 1) throw new Error(`tar failed (${code}): ${err.trim()}`);
}
