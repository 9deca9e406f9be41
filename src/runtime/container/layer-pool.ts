import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerFiles } from './container-files';
import type { SizedFilesystems } from './writable-layers';

const MiB = 1024 ** 2;

/**
 * How much a returned layer's image may have grown on the host's disk past a fresh one of its
 * size and still be kept. ext4 frees a deleted file's blocks in the filesystem but the sparse
 * image keeps them allocated, so an idle layer that once held 9 GiB would hold 9 GiB of the
 * host's disk; past this it is unmounted and deleted instead, and the pool's share of the
 * host's disk stays below `max × (fresh + slack)`.
 */
export const POOL_SLACK_BYTES = 32 * MiB;

/**
 * Files and directories a returned layer may hold and still be kept: emptying walks them on
 * the event loop (as the removal of an unsized layer's upper dir does), so a layer with more is
 * unmounted and deleted whole instead. Empty files take no blocks, so the slack alone would let
 * through ~100k of them.
 */
export const POOL_MAX_FILES = 4096;

/**
 * Formatted, mounted, empty filesystems for containers' sized writable layers, by size
 * (issue 13, point 7: mkfs, the loop mount, its umount and the image's removal were a third of
 * a launch cycle's CPU). An entry is `<dataDir>/layer-pool/<n>` (its mount point) and
 * `<n>.ext4` (its image), both on the data dir's filesystem:
 *
 *   create:  <n>.ext4 ──rename──▶ containers/<id>/layer.ext4
 *            <n>/     ──bind + detach (no process)──▶ containers/<id>/layer/
 *   remove:  layer/'s entries deleted, the root found empty, then the same two steps back
 *
 * so a container's files look as they do without the pool. Nothing of one container reaches
 * another: the whole tree is deleted before the filesystem goes back, and ext4 never lets a
 * file read blocks it did not write (freed blocks are reachable through the loop device alone,
 * which no container has: the mount is nodev and a container sees only its overlay). A layer
 * that grew past POOL_SLACK_BYTES, or that cannot be emptied or moved, is not kept (its
 * container's removal unmounts and deletes it, as without the pool). The pool is empty and
 * closed until `open` (the start's recovery) and closed and emptied again at a clean stop; what
 * a killed Warden leaves in it is no container's and the next start deletes it.
 */
export class LayerPool {
  private readonly idle = new Map<number, string[]>();
  /** A fresh image's allocation on the host's disk, by size. */
  private readonly fresh = new Map<number, number>();
  private idleCount = 0;
  private filling = 0;
  private seq = 0;
  private isOpen = false;

  constructor(
    private readonly sized: SizedFilesystems,
    private readonly dir: string,
    /** Idle layers kept at most, all sizes together; 0: none (a filesystem per container). */
    private readonly max: number,
  ) {}

  get size(): number {
    return this.idleCount;
  }

  /** Hands an idle layer of `bytes` to the container (its layer.ext4 and mounted layer/); false when none. */
  take(bytes: number, files: ContainerFiles): boolean {
    let entry: string | undefined;
    while ((entry = this.idle.get(bytes)?.pop()) !== undefined) {
      this.idleCount--;
      // Unmounted behind our back (by hand): binding its bare directory would give no size.
      if (this.sized.isMounted(entry)) break;
      void this.retire(entry);
    }
    if (entry === undefined) return false;
    fs.renameSync(`${entry}.ext4`, files.layerImage);
    try {
      this.sized.move(entry, files.layer);
    } catch (err) {
      // Back where it was, then gone: a later make must not write over an image a loop device holds.
      fs.renameSync(files.layerImage, `${entry}.ext4`);
      void this.retire(entry);
      throw err;
    }
    fs.rmdirSync(entry);
    return true;
  }

  /**
   * Takes a removed container's layer back, emptied; false (nothing moved) when it is not kept.
   * The caller then unmounts and deletes it as without the pool.
   */
  give(files: ContainerFiles): boolean {
    if (!this.isOpen || this.idleCount >= this.max || !this.sized.isMounted(files.layer)) return false;
    const image = fs.statSync(files.layerImage, { throwIfNoEntry: false });
    if (!image) return false;
    if (image.blocks * 512 > (this.fresh.get(image.size) ?? 16 * MiB) + POOL_SLACK_BYTES) return false;
    if (this.sized.inodesUsed(files.layer) > POOL_MAX_FILES) return false;
    for (const e of fs.readdirSync(files.layer))
      fs.rmSync(path.join(files.layer, e), { recursive: true, force: true });
    if (fs.readdirSync(files.layer).length) return false;
    fs.chownSync(files.layer, 0, 0);
    fs.chmodSync(files.layer, 0o755);
    const entry = path.join(this.dir, String(++this.seq));
    fs.mkdirSync(entry, { recursive: true, mode: 0o700 });
    try {
      this.sized.move(files.layer, entry);
    } catch {
      fs.rmdirSync(entry);
      return false;
    }
    try {
      fs.renameSync(files.layerImage, `${entry}.ext4`);
    } catch {
      // Mounted here without its image: not a layer anyone can take. Detached, it goes with the file.
      void this.retire(entry);
      return true;
    }
    this.add(image.size, entry);
    return true;
  }

  /** Whether a background make for `bytes` would be kept: open, and room for it. */
  wants(): boolean {
    return this.isOpen && this.idleCount + this.filling < this.max;
  }

  /** Makes one idle layer of `bytes` (in the background, after a miss). */
  async fill(bytes: number): Promise<void> {
    this.filling++;
    const entry = path.join(this.dir, String(++this.seq));
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      await this.sized.make(`${entry}.ext4`, bytes, entry);
      this.noteFresh(bytes, `${entry}.ext4`);
      // Closed meanwhile (a stop): not kept.
      if (this.isOpen) this.add(bytes, entry);
      else await this.retire(entry);
    } catch {
      await this.retire(entry);
    } finally {
      this.filling--;
    }
  }

  /** What a fresh image of `bytes` takes of the host's disk, as measured after its mkfs. */
  noteFresh(bytes: number, image: string): void {
    if (this.fresh.has(bytes)) return;
    const st = fs.statSync(image, { throwIfNoEntry: false });
    if (st) this.fresh.set(bytes, st.blocks * 512);
  }

  /** At the start: what a previous run left here is no container's (leased images were renamed out). */
  async open(): Promise<void> {
    await this.clear();
    this.isOpen = this.max > 0;
  }

  /** At a clean stop: no mount of the pool outlives the service. */
  async close(): Promise<void> {
    this.isOpen = false;
    await this.clear();
  }

  private add(bytes: number, entry: string): void {
    const list = this.idle.get(bytes) ?? [];
    list.push(entry);
    this.idle.set(bytes, list);
    this.idleCount++;
  }

  private async clear(): Promise<void> {
    this.idle.clear();
    this.idleCount = 0;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) if (!n.endsWith('.ext4')) await this.retire(path.join(this.dir, n));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Unmounted (lazily: a move that failed halfway may leave it busy) and deleted with its image. */
  private async retire(entry: string): Promise<void> {
    await this.sized.unmount(entry, { lazy: true }).catch(() => undefined);
    fs.rmSync(entry, { recursive: true, force: true });
    fs.rmSync(`${entry}.ext4`, { force: true });
  }
}
