import { Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import type { PreparedImage } from './image-provider';

/** Plenty for the images one node runs; the oldest entry makes room past it. */
const MAX_ENTRIES = 256;

/**
 * Unpacked images by manifest digest, so a launch does not look up and re-check every layer
 * twice (at create and again at start; issue 4 measured ~2 ms each time). A manifest digest
 * names immutable content, so its layers and run config never change; what can change is
 * whether they are still here. ImagesService.remove forgets the digests it deletes and
 * ImagePruneService.prune clears everything (it removes layer dirs); a hit whose layer dirs
 * were removed by anything else (another process on the same data dir) is dropped and the
 * image prepared again.
 *
 * Names are never cached: a tag can move, and a name's right to a digest (origins) is
 * checked on every launch by the provider.
 */
@Injectable()
export class PreparedImageCache {
  private readonly byDigest = new Map<string, Omit<PreparedImage, 'reference'>>();
  // Bumped by forget and clear: an image prepared while one ran must not refill the cache.
  private gen = 0;

  /** Take before looking the image up; hand to set() with what it prepared. */
  get generation(): number {
    return this.gen;
  }

  get(digest: string): Omit<PreparedImage, 'reference'> | undefined {
    const hit = this.byDigest.get(digest);
    if (!hit) return undefined;
    // Sync stat of a handful of dirs: microseconds, against a thread-pool round trip each.
    if (hit.lowerdirs.every((d) => existsSync(d))) return hit;
    this.byDigest.delete(digest);
    return undefined;
  }

  set(image: Omit<PreparedImage, 'reference'>, generation: number): void {
    if (generation !== this.gen) return;
    this.byDigest.delete(image.digest);
    if (this.byDigest.size >= MAX_ENTRIES) this.byDigest.delete(this.byDigest.keys().next().value!);
    this.byDigest.set(image.digest, {
      digest: image.digest,
      lowerdirs: image.lowerdirs,
      config: image.config,
      skippedDevices: image.skippedDevices,
      deviceNodes: image.deviceNodes,
    });
  }

  /** The image is gone from the store. */
  forget(digest: string): void {
    this.gen++;
    this.byDigest.delete(digest);
  }

  /** Layer dirs may have gone (prune). */
  clear(): void {
    this.gen++;
    this.byDigest.clear();
  }
}
