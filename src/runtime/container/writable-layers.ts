import { Inject, Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import {
  ensureMounted,
  isMountPoint,
  makeSizedFilesystem,
  moveMount,
  unmountSized,
} from '../../platform/linux';
import { ContainerFiles } from './container-files';
import { LayerPool } from './layer-pool';
import { SIZED_FILESYSTEMS } from './runtime.tokens';

/** What a sized writable layer needs of the host; the fast tier fakes it (no root, no mounts). */
export interface SizedFilesystems {
  make(image: string, bytes: number, mountPoint: string): Promise<void>;
  ensureMounted(image: string, mountPoint: string): Promise<void>;
  unmount(mountPoint: string, opts?: { lazy?: boolean }): Promise<void>;
  isMounted(mountPoint: string): boolean;
  /** The filesystem mounted at `from` is mounted at `to` (an existing directory) instead. */
  move(from: string, to: string): void;
  /** Inodes in use on the filesystem mounted there (its root and ext4's reserved ones included). */
  inodesUsed(mountPoint: string): number;
}

/** The host's: an ext4 in a sparse file, loop-mounted (platform/linux/sized-filesystem.ts). */
export const hostSizedFilesystems: SizedFilesystems = {
  make: makeSizedFilesystem,
  ensureMounted,
  unmount: unmountSized,
  isMounted: isMountPoint,
  move: moveMount,
  inodesUsed: (mountPoint) => {
    const s = fs.statfsSync(mountPoint);
    return s.files - s.ffree;
  },
};

/**
 * Containers' writable layers with a size (`--storage-opt size=`, or the policy's default):
 * made at create, mounted again before a use that finds them unmounted (after a reboot, or a
 * clean stop), unmounted before the container's directory goes. A layer without a size is a
 * plain directory and needs none of this. Filesystems are reused through a bounded pool
 * (LayerPool, `WARDEN_LAYER_POOL`): emptied at a removal and handed to the next create of the
 * same size, so a launch cycle runs no mkfs, mount or umount while the pool has one.
 */
@Injectable()
export class WritableLayers {
  /** mkfs + mount runs at most this many at once: a burst of creates queues here rather than
   * starving the event loop and the database pool of the CPU (17 at once on 2 cores did). */
  private static readonly MAKE_AT_ONCE = 2;
  private making = 0;
  private readonly waiting: Array<() => void> = [];

  private readonly pool: LayerPool;

  constructor(
    @Inject(SIZED_FILESYSTEMS) private readonly sized: SizedFilesystems,
    @Inject(WARDEN_CONFIG) config: Pick<WardenConfig, 'dataDir' | 'runtime'>,
  ) {
    this.pool = new LayerPool(sized, path.join(config.dataDir, 'layer-pool'), config.runtime.layerPool);
  }

  /** The layer as a filesystem of `bytes`, mounted, with its upper and work dirs. */
  async make(files: ContainerFiles, bytes: number): Promise<void> {
    if (!this.pool.take(bytes, files)) {
      await this.slot(() => this.sized.make(files.layerImage, bytes, files.layer));
      this.pool.noteFresh(bytes, files.layerImage);
      // A miss: the next create of this size finds one made off its path.
      if (this.pool.wants()) void this.slot(() => this.pool.fill(bytes));
    }
    for (const d of [files.upper, files.work]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  }

  /** mkfs + mount in one of MAKE_AT_ONCE slots: taken at once when free, else handed over by the one finishing before. */
  private async slot(fn: () => Promise<void>): Promise<void> {
    if (this.making < WritableLayers.MAKE_AT_ONCE) this.making++;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.making--;
    }
  }

  /** A sized layer is mounted before its files are used. */
  async ensure(files: ContainerFiles): Promise<void> {
    if (fs.existsSync(files.layerImage)) await this.sized.ensureMounted(files.layerImage, files.layer);
  }

  /** The container's directory, its sized layer given back to the pool or unmounted first. */
  async remove(files: ContainerFiles): Promise<void> {
    let kept = false;
    try {
      kept = this.pool.give(files);
    } catch {
      // Half emptied: not kept, and unmounted below as without the pool.
    }
    if (!kept) await this.sized.unmount(files.layer, { lazy: true });
    files.remove();
  }

  /** At the start (recovery): the pool begins empty; what a killed Warden left in it goes. */
  openPool(): Promise<void> {
    return this.pool.open();
  }

  /** At a clean stop, with `releaseIdle`: the idle layers are unmounted and deleted. */
  closePool(): Promise<void> {
    return this.pool.close();
  }

  /**
   * At a clean stop: the sized layers of containers that are not running are unmounted (the
   * next use mounts them again), so a stopped Warden leaves no mount for a container that runs
   * no process. Running ones (live restore) keep theirs.
   */
  async releaseIdle(dataDir: string, running: ReadonlySet<string>): Promise<number> {
    let ids: string[];
    try {
      ids = fs.readdirSync(path.join(dataDir, 'containers'));
    } catch {
      return 0;
    }
    let released = 0;
    for (const id of ids) {
      const layer = new ContainerFiles(dataDir, id).layer;
      if (running.has(id) || !this.sized.isMounted(layer)) continue;
      // A busy one (a copy or diff in flight) stays mounted: the next release takes it.
      if (
        await this.sized.unmount(layer).then(
          () => true,
          () => false,
        )
      )
        released++;
    }
    return released;
  }
}
