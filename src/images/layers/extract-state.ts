import { constants as fsc } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { S_IFBLK, S_IFCHR, S_IFIFO, Syscalls } from '../../platform/ffi';
import {
  checkSymlinkTarget,
  entryComponents,
  EntryRefused,
  hardLinkTarget,
  isUnderDev,
  SETID_BITS,
  whiteoutOf,
} from './layer-entry-rules';
import type { UnpackOptions } from './unpack-layer';

type Kind = 'dir' | 'file' | 'symlink' | 'other';

const O_CREATE_NOFOLLOW = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** xattrs a layer may set; overlay's own (trusted.overlay.*) must never come from image content. */
const ALLOWED_XATTR = /^user\./;

type TarHeader = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };
type TarEntry = tar.ExtractEvents['entry'][1];

/**
 * One unpack's bookkeeping: the kind of every path it created (parents are checked against
 * it, so nothing is ever written through a symlink or onto a file), and the directory times
 * to set last.
 */
export class ExtractState {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirTimes: Array<[string, Date]> = [];
  firstSetuid?: string;
  firstDevice?: string;
  /** Device nodes and fifos under `dev/` that were left out (see isUnderDev). */
  readonly skippedDevices: string[] = [];

  constructor(
    private readonly root: string,
    private readonly sys: Syscalls,
    private readonly chown: boolean,
    private readonly opts: UnpackOptions,
  ) {}

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header as TarHeader;
    const name = h.name;
    const parts = entryComponents(name);
    if (parts.length === 0) return; // './': the layer root itself; overlay takes root attributes from upper
    const base = parts[parts.length - 1];
    const wh = whiteoutOf(name, base);
    if (wh.kind === 'ignore') return;
    const parentParts = parts.slice(0, -1);
    await this.ensureParents(name, parentParts);
    const parent = parentParts.join('/');

    if (wh.kind === 'opaque') {
      this.sys.lsetxattr(join(this.root, parent), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (wh.kind === 'file') {
      const rel = parent ? `${parent}/${wh.name}` : wh.name;
      // OCI: a whiteout only hides lower layers; a file of this same layer stays.
      if (this.kinds.has(rel)) return;
      this.sys.mknod(join(this.root, rel), S_IFCHR, 0, 0);
      this.kinds.set(rel, 'other');
      return;
    }

    const rel = parts.join('/');
    const abs = join(this.root, rel);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date(0);
    const existing = this.kinds.get(rel);
    if (existing && !(existing === 'dir' && h.type === 'directory')) await this.remove(rel);

    switch (h.type) {
      case 'directory':
        if (existing !== 'dir') await mkdir(abs, { mode: 0o700 });
        this.kinds.set(rel, 'dir');
        await this.own(abs, h);
        await chmod(abs, mode);
        this.dirTimes.push([abs, mtime]);
        break;
      case 'file':
      case 'contiguous-file':
        if (mode & SETID_BITS) {
          if (this.opts.refuseSetuid)
            throw new EntryRefused(name, `setuid/setgid file (mode ${mode.toString(8)}) refused by policy`);
          this.firstSetuid ??= name;
        }
        await pipeline(entry, (await open(abs, O_CREATE_NOFOLLOW, 0o600)).createWriteStream());
        this.kinds.set(rel, 'file');
        await this.own(abs, h);
        await chmod(abs, mode);
        await utimes(abs, mtime, mtime);
        break;
      case 'symlink':
        checkSymlinkTarget(name, parts, h.linkname ?? '');
        await symlink(h.linkname!, abs);
        this.kinds.set(rel, 'symlink');
        await this.own(abs, h);
        await lutimes(abs, mtime, mtime);
        break;
      case 'link': {
        const target = hardLinkTarget(name, h.linkname ?? '');
        const kind = this.kinds.get(target);
        if (kind === undefined)
          throw new EntryRefused(
            name,
            `hard link target '${h.linkname}' is not an earlier entry of this layer`,
          );
        if (kind === 'dir') throw new EntryRefused(name, `hard link target '${h.linkname}' is a directory`);
        await link(join(this.root, target), abs);
        this.kinds.set(rel, kind);
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        if (isUnderDev(parts)) {
          this.skippedDevices.push(name);
          return;
        }
        if (!this.opts.allowDevices)
          throw new EntryRefused(
            name,
            `${h.type} ${h.devmajor ?? 0}/${h.devminor ?? 0} outside /dev is not allowed (the policy does not allow device nodes in images)`,
            'device',
          );
        this.firstDevice ??= name;
        const type = h.type === 'fifo' ? S_IFIFO : h.type === 'block-device' ? S_IFBLK : S_IFCHR;
        this.sys.mknod(abs, type | (mode & 0o777), h.devmajor ?? 0, h.devminor ?? 0);
        this.kinds.set(rel, 'other');
        await this.own(abs, h);
        await chmod(abs, mode);
        break;
      }
      default:
        throw new EntryRefused(name, `unsupported tar entry type '${h.type}'`);
    }
    await this.applyXattrs(abs, h);
  }

  /** Directory mtimes last: creating their children bumped them. Deepest first. */
  async finish(): Promise<void> {
    for (const [dir, mtime] of this.dirTimes.reverse()) await utimes(dir, mtime, mtime);
  }

  /**
   * Creates missing parents as plain directories and refuses any parent that is not one:
   * writing `etc/passwd` after a symlink `etc -> /etc` would otherwise land on the host.
   */
  private async ensureParents(entry: string, parentParts: string[]): Promise<void> {
    let rel = '';
    for (const c of parentParts) {
      rel = rel ? `${rel}/${c}` : c;
      const kind = this.kinds.get(rel);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw new EntryRefused(entry, `would be written through the symlink '${rel}'`);
      if (kind !== undefined) throw new EntryRefused(entry, `parent '${rel}' is not a directory`);
      await mkdir(join(this.root, rel), { mode: 0o755 });
      this.kinds.set(rel, 'dir');
    }
    if (rel) {
      const s = await lstat(join(this.root, rel));
      if (!s.isDirectory()) throw new EntryRefused(entry, `parent '${rel}' is not a directory`);
    }
  }

  /** Tar semantics: a later entry replaces an earlier one of the same path. */
  private async remove(rel: string): Promise<void> {
    await rm(join(this.root, rel), { recursive: true, force: true });
    for (const key of [...this.kinds.keys()])
      if (key === rel || key.startsWith(`${rel}/`)) this.kinds.delete(key);
  }

  private async own(abs: string, h: TarHeader): Promise<void> {
    if (this.chown) await lchown(abs, h.uid ?? 0, h.gid ?? 0);
  }

  private async applyXattrs(abs: string, h: TarHeader): Promise<void> {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      if (!key.startsWith('SCHILY.xattr.')) continue;
      const name = key.slice('SCHILY.xattr.'.length);
      if (ALLOWED_XATTR.test(name)) this.sys.lsetxattr(abs, name, Buffer.from(value, 'utf8'));
    }
  }
}
