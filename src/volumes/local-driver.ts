import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The `local` driver: a volume is `<data dir>/volumes/<name>/_data`, which containers get as a
 * bind mount. A sized volume (`--opt size=`) is an ext4 filesystem in a sparse file beside it,
 * loop-mounted on `_data`: the root filesystem here has no project quotas (mounted without
 * `prjquota`, DESIGN.md), and a filesystem of its own is what makes a write past the size
 * fail with ENOSPC inside the container. The loop mount lives in the host's mount namespace,
 * so containers' private namespaces inherit it; it does not survive a reboot, which is why
 * `ensureMounted` runs before a sized volume is used.
 */
export class LocalVolumeDriver {
  constructor(readonly root: string) {}

  dirOf(name: string): string {
    return path.join(this.root, name);
  }
  dataOf(name: string): string {
    return path.join(this.root, name, '_data');
  }
  private diskOf(name: string): string {
    return path.join(this.root, name, 'disk.ext4');
  }

  async create(name: string, sizeBytes?: number): Promise<void> {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.dirOf(name), { mode: 0o701 });
    fs.mkdirSync(this.dataOf(name), { mode: 0o755 });
    if (sizeBytes === undefined) return;
    const disk = this.diskOf(name);
    fs.writeFileSync(disk, '', { mode: 0o600 });
    fs.truncateSync(disk, sizeBytes);
    // No reserved blocks: the whole size is the container's. lost+found goes, so a fresh
    // volume is empty and gets the image's files like a plain one.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'root_owner=0:0', disk]);
    await this.ensureMounted(name, sizeBytes);
    fs.rmdirSync(path.join(this.dataOf(name), 'lost+found'));
    fs.chmodSync(this.dataOf(name), 0o755);
  }

  /** A sized volume's filesystem is mounted on its `_data` (again after a reboot). */
  async ensureMounted(name: string, sizeBytes?: number): Promise<void> {
    if (sizeBytes === undefined || this.isMounted(name)) return;
    await run('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev', this.diskOf(name), this.dataOf(name)]);
  }

  private isMounted(name: string): boolean {
    return fs.statSync(this.dataOf(name)).dev !== fs.statSync(this.dirOf(name)).dev;
  }

  async remove(name: string): Promise<void> {
    const dir = this.dirOf(name);
    if (!fs.existsSync(dir)) return;
    if (fs.existsSync(this.dataOf(name)) && this.isMounted(name)) await run('umount', [this.dataOf(name)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  isEmpty(name: string): boolean {
    return fs.readdirSync(this.dataOf(name)).length === 0;
  }

  /**
   * Docker's copy-up: the image's directory at the mount target, contents, owners, modes and
   * times, into the (empty) volume; the volume's root takes the directory's owner and mode.
   */
  async populate(name: string, from: string): Promise<void> {
    await run('cp', ['-a', '--', `${from}/.`, `${this.dataOf(name)}/`]);
  }

  /** Bytes in use: the filesystem's for a sized volume, else the files' (du). */
  async usageBytes(name: string): Promise<number> {
    const { stdout } = await run('du', ['-s', '-B1', '-x', this.dataOf(name)]);
    return Number(stdout.split('\t')[0]) || 0;
  }
}
