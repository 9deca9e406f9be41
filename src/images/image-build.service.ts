import { imageOwner } from './images.service';
import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { byteCap, gunzipIfNeeded } from './archive-reader';
import { blobsOf } from './archive-images';
import type { ParsedImage } from './archive-images';
import { looksLikeTar, newImage, NewImageInput } from './build/new-image';
import { ImageRecord, ImageRepository } from './image.repository';
import { DEFAULT_IMPORT_MAX_BYTES, ImportedImage, parseTagArgument } from './images.service';
import { formatImageReference } from './reference/image-reference';
import { FsBlobStore, StagedBlob } from './store';

export interface ImportRootfsOptions {
  /** `repo[:tag]` to name the image by; untagged without. */
  tag?: string;
  changes?: string[];
  /** `docker import --message`: the history entry's comment. */
  message?: string;
  maxBytes?: number;
}

export interface CommitOptions {
  /** The image the container runs. */
  base: ImageRecord;
  tag?: string;
  changes?: string[];
  comment?: string;
  author?: string;
  /** The container's command, as Docker records it in the history entry. */
  createdBy: string;
  /** The container committed, for the audit event. */
  container: { id: string; name: string };
}

/**
 * Images made here rather than brought in: `docker import` (a root filesystem tar as the one
 * layer) and `docker commit` (a container's writable layer on top of its image). The layer is
 * staged as it streams (gzip accepted and stored uncompressed, so its digest is its diff_id),
 * config and manifest are written (build/new-image.ts), and all of it is committed and
 * recorded under the shared blob lock, like an archive import. Who made it is recorded as the
 * image's `created_by`, as imports record it.
 */
@Injectable()
export class ImageBuildService {
  constructor(
    private readonly repo: ImageRepository,
    private readonly store: FsBlobStore,
    private readonly audit: AuditService,
  ) {}

  async importRootfs(body: Readable, caller: Caller, opts: ImportRootfsOptions = {}): Promise<ImportedImage> {
    const tags = opts.tag === undefined ? [] : [parseTagArgument(opts.tag)];
    const layer = await this.stageLayer(body, opts.maxBytes ?? DEFAULT_IMPORT_MAX_BYTES);
    const image = await this.record(layer, caller, {
      changes: opts.changes ?? [],
      createdBy: 'import',
      comment: opts.message || 'Imported',
      tags,
    });
    await this.audit.record({
      type: 'image.imported',
      principal: caller.principal.id,
      source: caller.source,
      subject: image.digest,
      payload: {
        format: 'rootfs',
        tags: image.tags,
        layers: image.layers,
        size: image.size,
        changes: opts.changes ?? [],
      },
    });
    return image;
  }

  async commit(layerTar: Readable, caller: Caller, opts: CommitOptions): Promise<ImportedImage> {
    const tags = opts.tag === undefined ? [] : [parseTagArgument(opts.tag)];
    const baseConfig = JSON.parse(await readFile(this.store.path(opts.base.configDigest), 'utf8')) as Record<
      string,
      unknown
    >;
    const layer = await this.stageLayer(layerTar, Number.MAX_SAFE_INTEGER);
    const image = await this.record(layer, caller, {
      base: { config: baseConfig, layers: opts.base.layers.map((l) => ({ ...l })) },
      changes: opts.changes ?? [],
      createdBy: opts.createdBy,
      comment: opts.comment,
      author: opts.author,
      tags,
    });
    await this.audit.record({
      type: 'image.committed',
      principal: caller.principal.id,
      source: caller.source,
      subject: image.digest,
      payload: {
        container: opts.container.id,
        name: opts.container.name,
        base: opts.base.digest,
        tags: image.tags,
        layerSize: layer.size,
        changes: opts.changes ?? [],
        comment: opts.comment ?? null,
        author: opts.author ?? null,
      },
    });
    return image;
  }

  /** The layer in the store's staging area, uncompressed; 400 when it is not a tar. */
  private async stageLayer(body: Readable, maxBytes: number): Promise<StagedBlob> {
    const plain = body.pipe(byteCap(maxBytes)).pipe(gunzipIfNeeded());
    body.on('error', (e) => plain.destroy(e));
    let layer: StagedBlob;
    try {
      layer = await this.store.stage(plain);
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw new WardenError(
        'IMAGE_ARCHIVE_INVALID',
        `could not read the root filesystem: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    if (!looksLikeTar(layer.head)) {
      await layer.discard();
      throw new WardenError(
        'IMAGE_ARCHIVE_INVALID',
        'the root filesystem is not a tar archive (plain or gzip-compressed)',
        { size: layer.size },
      );
    }
    return layer;
  }

  private async record(
    layer: StagedBlob,
    caller: Caller,
    input: Omit<NewImageInput, 'layer'>,
  ): Promise<ImportedImage> {
    const staged: StagedBlob[] = [layer];
    let image: ParsedImage;
    try {
      image = await newImage({ ...input, layer }, async (bytes) => {
        const b = await this.store.stage(bytes);
        staged.push(b);
        return b;
      });
      const mine = new Set(staged.map((b) => b.digest));
      await this.repo.withBlobLock('shared', async (q) => {
        for (const b of staged) await b.commit();
        // Base layers are in the store already: the base image is recorded and holds them.
        for (const digest of blobsOf(image))
          if (!mine.has(digest) && !(await this.store.has(digest)))
            throw new WardenError(
              'IMAGE_NOT_FOUND',
              `layer ${digest} of the base image is no longer in the store`,
            );
        // Its owner as an import's: the caller's team (or shared, for an admin without one).
        await this.repo.insert(q, image, caller.principal.id, undefined, imageOwner(caller.principal));
      });
    } finally {
      for (const b of staged) await b.discard().catch(() => undefined);
    }
    return {
      digest: image.manifestDigest,
      tags: image.tags.map((t) => formatImageReference(t)),
      layers: image.layers.length,
      size: image.manifestSize + image.configSize + image.layers.reduce((n, l) => n + l.size, 0),
    };
  }
}
