import { EVERYTHING, scopeOf } from '../platform/scope';
import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { AuditService } from '../audit';
import type { Caller } from '../platform/http';
import { ImageRecord, ImageRepository, ImageTag } from './image.repository';
import { writeSaveArchive, SavedImage } from './image-save';
import { ImagesService, parseTagArgument } from './images.service';
import { formatImageReference } from './reference/image-reference';
import { FsBlobStore } from './store';

/** One row of `docker history`, newest first (moby swagger: HistoryResponseItem). */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface PruneImagesOptions {
  /** `-a`: every image no container uses, not only untagged ones. */
  all: boolean;
  /** Only images created before this. */
  until?: Date;
  labels?: (labels: Record<string, string>) => boolean;
}

export interface PruneImagesResult {
  deleted: Array<{ Untagged: string } | { Deleted: string }>;
  spaceReclaimed: number;
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

const tagsOf = (i: ImageRecord) => i.tags.map((t) => formatImageReference(t));
const createdOf = (i: ImageRecord) => i.imageCreated ?? i.createdAt;

/** Image verbs beyond import and remove: tag, history, save, and Docker's `image prune`. */
@Injectable()
export class ImageVerbsService {
  constructor(
    private readonly images: ImagesService,
    private readonly repo: ImageRepository,
    private readonly store: FsBlobStore,
    private readonly audit: AuditService,
  ) {}

  /** `docker tag`: one more name for an image (a name that pointed elsewhere moves). */
  async tag(source: string, target: string, caller: Caller): Promise<ImageTag> {
    const { image } = await this.images.resolve(source, scopeOf(caller.principal));
    const tag = parseTagArgument(target);
    const before = await this.repo.findByTag(tag, EVERYTHING); // tags are one namespace, as names are
    await this.repo.setTag(tag, image.digest);
    await this.audit.record({
      type: 'image.tagged',
      principal: caller.principal.id,
      source: caller.source,
      subject: image.digest,
      payload: {
        source,
        tag: formatImageReference(tag),
        ...(before && before.digest !== image.digest ? { movedFrom: before.digest } : {}),
      },
    });
    return tag;
  }

  /**
   * `docker history`: the config's history, newest first; entries that made a layer carry
   * its size (the stored blob's, compressed when the layer is). Without a history, one row per
   * layer, as Docker shows for images that lack one.
   */
  async history(ref: string, caller: Caller): Promise<HistoryItem[]> {
    const { image } = await this.images.resolve(ref, scopeOf(caller.principal));
    const config = JSON.parse(await readFile(this.store.path(image.configDigest), 'utf8')) as {
      history?: HistoryEntry[];
    };
    const entries: HistoryEntry[] = config.history?.length
      ? config.history
      : image.layers.map(() => ({ created: createdOf(image) }));
    let layer = 0;
    const rows = entries.map((h) => ({
      Id: '<missing>',
      Created: Math.floor(Date.parse(h.created ?? createdOf(image)) / 1000) || 0,
      CreatedBy: h.created_by ?? '',
      Tags: null as string[] | null,
      Size: h.empty_layer ? 0 : (image.layers[layer++]?.size ?? 0),
      Comment: h.comment ?? '',
    }));
    rows.reverse();
    rows[0] = { ...rows[0], Id: image.digest, Tags: tagsOf(image) };
    return rows;
  }

  /**
   * `docker save`: each reference resolved (a name saves under that name, an id or digest
   * under all the image's names), then the archive streamed to what `open` gives (called once
   * every reference resolved, so a bad one is a plain error), and an `image.saved` event.
   */
  async save(refs: string[], open: () => Writable, caller: Caller): Promise<void> {
    const byDigest = new Map<string, SavedImage>();
    for (const ref of refs) {
      const { image, tag } = await this.images.resolve(ref, scopeOf(caller.principal));
      const entry = byDigest.get(image.digest) ?? { image, names: [] };
      const names = tag ? [tag] : image.tags;
      for (const n of names)
        if (!entry.names.some((m) => formatImageReference(m) === formatImageReference(n)))
          entry.names.push(n);
      byDigest.set(image.digest, entry);
    }
    const saved = [...byDigest.values()];
    await writeSaveArchive(open(), saved, this.store);
    await this.audit.record({
      type: 'image.saved',
      principal: caller.principal.id,
      source: caller.source,
      subject: saved.map((s) => s.image.digest).join(','),
      payload: {
        refs,
        images: saved.map((s) => ({
          digest: s.image.digest,
          names: s.names.map((n) => formatImageReference(n)),
        })),
      },
    });
  }

  /**
   * Docker's `image prune`: untagged images (with `all`, every image) that no container uses,
   * created before `until` and matching the label filters, each removed as `rmi` removes it.
   * An image a container was created from meanwhile is skipped, not an error.
   */
  async prune(caller: Caller, opts: PruneImagesOptions): Promise<PruneImagesResult> {
    const out: PruneImagesResult = { deleted: [], spaceReclaimed: 0 };
    const candidates = (await this.repo.list(scopeOf(caller.principal))).filter(
      (i) =>
        (opts.all || i.tags.length === 0) &&
        (!opts.until || Date.parse(createdOf(i)) < opts.until.getTime()) &&
        (!opts.labels || opts.labels(i.config.Labels ?? {})),
    );
    for (const image of candidates) {
      const r = await this.images.removeUnused(image, caller);
      if (!r) continue;
      out.deleted.push(
        ...r.untagged.map((u) => ({ Untagged: u })),
        ...r.deleted.map((d) => ({ Deleted: d })),
      );
      out.spaceReclaimed += image.size;
    }
    await this.audit.record({
      type: 'image.pruned',
      principal: caller.principal.id,
      source: caller.source,
      subject: 'images',
      payload: {
        kind: 'images',
        all: opts.all,
        until: opts.until?.toISOString() ?? null,
        deleted: out.deleted.filter((d) => 'Deleted' in d).map((d) => (d as { Deleted: string }).Deleted),
        spaceReclaimed: out.spaceReclaimed,
      },
    });
    return out;
  }
}
