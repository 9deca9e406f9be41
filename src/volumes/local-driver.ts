import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ensureMounted, makeSizedFilesystem, unmountSized } from '../platform/linux';

const run = promisify(execFile);
/** A plain volume's du runs at most this long per measure (usage samples); longer: not measured. */
const DU_TIMEOUT_MS = 2000;

export interface VolumeMeasure {
  /** null: not measured (`reason` says why). */
  bytes: number | null;
  how: 'statfs' | 'du' | 'skipped';
  reason?: string;
}

/**
 * The `local` driver: a volume is `<data dir>/volumes/<name>/_data`, which containers get as a
 * bind mount. A sized volume (`--opt size=`) is an ext4 filesystem in a sparse file beside it,
 * loop-mounted on `_data` (platform/linux/sized-filesystem.ts says why and how); it does not
 * survive a reboot, which is why `ensureMounted` runs before a sized volume is used.
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
    await makeSizedFilesystem(this.diskOf(name), sizeBytes, this.dataOf(name));
    fs.chmodSync(this.dataOf(name), 0o755);
  }

  /** A sized volume's filesystem is mounted on its `_data` (again after a reboot). */
  async ensureMounted(name: string, sizeBytes?: number): Promise<void> {
    if (sizeBytes !== undefined) await ensureMounted(this.diskOf(name), this.dataOf(name));
  }

  async remove(name: string): Promise<void> {
    const dir = this.dirOf(name);
    if (!fs.existsSync(dir)) return;
    await unmountSized(this.dataOf(name), { lazy: true });
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

  /**
   * Bytes in use for usage samples, cheaply: a sized volume is its own ext4 filesystem, so
   * statfs of the mount says it at once; a plain directory needs du, bounded in time (a volume
   * whose du takes longer is not measured, and says why).
   */
  async measure(name: string, sizeBytes: number | undefined): Promise<VolumeMeasure> {
    if (sizeBytes !== undefined) {
      const st = await fs.promises.statfs(this.dataOf(name));
      return { bytes: (st.blocks - st.bfree) * st.bsize, how: 'statfs' };
    }
    try {
      const { stdout } = await run('du', ['-s', '-B1', '-x', this.dataOf(name)], {
        timeout: DU_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      });
      return { bytes: Number(stdout.split('\t')[0]) || 0, how: 'du' };
    } catch (err) {
      if ((err as { killed?: boolean }).killed)
        return { bytes: null, how: 'skipped', reason: `du took longer than ${DU_TIMEOUT_MS} ms` };
      throw err;
    }
  }

  /** Bytes in use: the filesystem's for a sized volume, else the files' (du). */
  async usageBytes(name: string): Promise<number> {
    const { stdout } = await run('du', ['-s', '-B1', '-x', this.dataOf(name)]);
    return Number(stdout.split('\t')[0]) || 0;
  }
}
