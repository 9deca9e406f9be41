import { Inject, Injectable } from '@nestjs/common';
import type { Dirent } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import type { Caller } from '../platform/http';
import { FsBlobStore } from './store';
import { ImageRepository } from './image.repository';
import { PreparedImageCache } from './prepared-image-cache';

export interface PruneResult {
  /** Unreferenced blobs removed (proxy-cached manifests and blobs no local image uses). */
  blobs: { removed: string[]; bytes: number };
  /** Unpacked layer directories no image (hence no container) uses. */
  layers: { removed: string[]; bytes: number };
  /** Unreferenced blobs kept because they were pulled or served within the window. */
  keptRecent: number;
  /** Set when layer dirs were left alone, and why. */
  layersSkipped?: string;
}

const DAY_MS = 24 * 3600 * 1000;
/** The unpacker's temp prefix, so its own listing skips these too. */
const PRUNE_PREFIX = '.tmp-prune-';

/** Bytes under a path, not following symlinks (an unpacked layer is full of them). */
async function du(path: string): Promise<number> {
  const s = await lstat(path).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  let entries: Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return s.size;
  }
  let total = s.size;
  for (const e of entries) total += await du(join(path, e.name));
  return total;
}

/**
 * Cache hygiene (`warden image prune`, `POST /images/prune`). Referenced is what an image row
 * names: its manifest, config and layers. Everything else in the store — manifests and blobs
 * the /v2/ proxy cached, indexes a pull went through, leftovers of removed images — goes once
 * it has not been pulled or served for `olderThanDays` (its mtime, which pulls refresh).
 * Runs under the exclusive blob lock, so no import or pull is between "stored" and "recorded"
 * while it decides; a pull that lost a blob to it fetches the blob again before recording.
 */
@Injectable()
export class ImagePruneService {
  constructor(
    private readonly repo: ImageRepository,
    private readonly store: FsBlobStore,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly prepared: PreparedImageCache,
  ) {}

  async prune(caller: Caller, opts: { olderThanDays?: number } = {}): Promise<PruneResult> {
    const days = opts.olderThanDays ?? 0;
    const cutoff = Date.now() - days * DAY_MS;
    const result = await this.repo.withBlobLock('exclusive', async (q): Promise<PruneResult> => {
      const out: PruneResult = {
        blobs: { removed: [], bytes: 0 },
        layers: { removed: [], bytes: 0 },
        keptRecent: 0,
      };
      const referenced = await this.repo.referencedBlobs(q);
      for (const digest of await this.store.list()) {
        if (referenced.has(digest)) continue;
        const s = await stat(this.store.path(digest)).catch(() => undefined);
        if (!s) continue;
        if (days > 0 && s.mtimeMs > cutoff) {
          out.keptRecent++;
          continue;
        }
        if (await this.store.delete(digest)) {
          out.blobs.removed.push(digest);
          out.blobs.bytes += s.size;
        }
      }
      const missing = await this.repo.containerImagesMissing(q);
      if (missing.length > 0) {
        // Their layers cannot be told apart from orphans any more: keeping everything is safe.
        out.layersSkipped = `containers use ${missing.length} image(s) with no record (${missing.slice(0, 3).join(', ')}); unpacked layers were kept`;
        return out;
      }
      // Layer dirs are about to go: what was prepared from them must be prepared again.
      this.prepared.clear();
      const diffIds = await this.repo.referencedDiffIds(q);
      const keep = new Set([...diffIds].map((d) => d.slice('sha256:'.length)));
      const dir = join(this.config.dataDir, 'layers');
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        // Leftovers of a prune that crashed mid-removal (the lock says none is running now).
        if (name.startsWith(PRUNE_PREFIX)) await rm(join(dir, name), { recursive: true, force: true });
        // In-flight unpacks build under a temp name; their image is recorded, so they are kept.
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        if (keep.has(name)) continue;
        const path = join(dir, name);
        const bytes = await du(path);
        // Out of its name first (atomic), so a crash mid-removal never leaves a half-empty dir
        // that the unpacker would trust as unpacked.
        const doomed = join(dir, `${PRUNE_PREFIX}${name.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
        await rename(path, doomed);
        await rm(`${path}.json`, { force: true });
        await rm(doomed, { recursive: true, force: true });
        out.layers.removed.push(`sha256:${name}`);
        out.layers.bytes += bytes;
      }
      return out;
    });
    await this.audit.record({
      type: 'image.pruned',
      principal: caller.principal.id,
      source: caller.source,
      subject: 'images',
      payload: {
        olderThanDays: days,
        blobs: result.blobs.removed.length,
        blobBytes: result.blobs.bytes,
        layers: result.layers.removed.length,
        layerBytes: result.layers.bytes,
        keptRecent: result.keptRecent,
        layersSkipped: result.layersSkipped ?? null,
      },
    });
    return result;
  }
}
