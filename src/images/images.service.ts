import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller, Principal } from '../platform/http';
import { inScope, owningTeam, scopeOf, type Scope } from '../platform/scope';
import { formatImageReference, parseImageReference } from './reference/image-reference';
import { FsBlobStore } from './store';
import { ArchiveFormat, blobsOf, ParsedImage, resolveImages } from './archive-images';
import { readArchive } from './archive-reader';
import { ImageOwner, ImageRecord, ImageRepository, ImageTag } from './image.repository';
import { PreparedImageCache } from './prepared-image-cache';

/** Largest archive an import accepts; a guard against filling the disk, not a format limit. */
export const DEFAULT_IMPORT_MAX_BYTES = 8 * 1024 ** 3;

export interface ImportedImage {
  digest: string;
  tags: string[];
  layers: number;
  size: number;
}

export interface ImportResult {
  format: ArchiveFormat;
  images: ImportedImage[];
}

export interface RemoveResult {
  untagged: string[];
  deleted: string[];
}

const formatTag = (t: ImageTag) => formatImageReference(t);

/**
 * Images in the local store: import (all-or-nothing), list, inspect, remove. The archive is
 * staged blob by blob, checked as a whole, and only then are its blobs published and its
 * rows written, under the blob lock (see ImageRepository.withBlobLock).
 */
@Injectable()
export class ImagesService {
  constructor(
    private readonly repo: ImageRepository,
    private readonly store: FsBlobStore,
    private readonly audit: AuditService,
    private readonly prepared: PreparedImageCache,
  ) {}

  async importArchive(
    body: Readable,
    caller: Caller,
    opts: { tag?: string; maxBytes?: number; team?: string } = {},
  ): Promise<ImportResult> {
    const extraTag = opts.tag === undefined ? undefined : parseTagArgument(opts.tag);
    const owner = imageOwner(caller.principal, opts.team);
    const contents = await readArchive(body, this.store, {
      maxBytes: opts.maxBytes ?? DEFAULT_IMPORT_MAX_BYTES,
    });
    let format: ArchiveFormat;
    let images: ParsedImage[];
    try {
      ({ format, images } = await resolveImages(contents));
      if (extraTag) {
        if (images.length !== 1)
          throw new WardenError(
            'IMAGE_ARCHIVE_INVALID',
            `the archive holds ${images.length} images; a tag can name only one (leave it out to keep the archive's own names)`,
          );
        images[0].tags.push(extraTag);
      }
      const needed = new Set(images.flatMap(blobsOf));
      await this.repo.withBlobLock('shared', async (q) => {
        for (const digest of needed) await contents.blobs.get(digest)!.commit();
        for (const image of images) await this.repo.insert(q, image, caller.principal.id, undefined, owner);
      });
    } finally {
      // Committed blobs are settled and untouched; the rest (unreferenced archive files) go.
      await contents.discardAll();
    }
    const result: ImportResult = {
      format,
      images: images.map((i) => ({
        digest: i.manifestDigest,
        tags: i.tags.map(formatTag),
        layers: i.layers.length,
        size: i.manifestSize + i.configSize + i.layers.reduce((n, l) => n + l.size, 0),
      })),
    };
    for (const image of result.images) {
      await this.audit.record({
        type: 'image.imported',
        principal: caller.principal.id,
        source: caller.source,
        subject: image.digest,
        payload: { format, tags: image.tags, layers: image.layers, size: image.size },
      });
    }
    return result;
  }

  /** The images the caller sees (its teams', its own, the shared ones; all for admins and auditors). */
  list(caller: Caller): Promise<ImageRecord[]> {
    return this.repo.list(scopeOf(caller.principal));
  }

  async inspect(ref: string, caller: Caller): Promise<ImageRecord> {
    return (await this.resolve(ref, scopeOf(caller.principal))).image;
  }

  /**
   * Docker's `rmi`: by name, the tag goes, and the image with it if that was its last name;
   * by digest or id, the image and all its names go. Blobs no other image uses are deleted.
   */
  async remove(ref: string, caller: Caller): Promise<RemoveResult> {
    const scope = scopeOf(caller.principal);
    const { image, tag } = await this.resolve(ref, scope);
    const result = await this.repo.withBlobLock('exclusive', async (q): Promise<RemoveResult> => {
      // Whose it is decides before whether it can go (in use, other names): a deployer may
      // not remove a shared image, and only gives up its own claim on one others own too.
      const owners = await this.repo.ownersOf(q, image.digest);
      const mine = owners.filter((o) => !o.shared && inScope(scope, o));
      if (!scope.all && mine.length < owners.length) {
        if (mine.length === 0)
          throw new WardenError(
            'FORBIDDEN',
            `image ${ref} is shared by an admin: only an admin can remove it`,
            { digest: image.digest },
          );
        await this.repo.deleteOwners(q, image.digest, scope);
        if (tag) await this.repo.deleteTag(q, tag);
        return { untagged: [tag ? formatTag(tag) : ref], deleted: [] };
      }
      if (tag && (await this.repo.countTags(q, image.digest)) > 1) {
        await this.repo.deleteTag(q, tag);
        return { untagged: [formatTag(tag)], deleted: [] };
      }
      const users = await this.repo.containersUsing(q, image.digest);
      if (users.length > 0) {
        throw new WardenError(
          'IMAGE_IN_USE',
          `image ${image.digest} is used by ${users.length} container(s) (${users.slice(0, 5).join(', ')}); remove them first`,
          { digest: image.digest, containers: users },
        );
      }
      const orphans = await this.repo.deleteImage(q, image.digest, [
        image.digest,
        image.configDigest,
        ...image.layers.map((l) => l.digest),
      ]);
      this.prepared.forget(image.digest);
      for (const blob of orphans) await this.store.delete(blob);
      return { untagged: image.tags.map(formatTag), deleted: [image.digest] };
    });
    await this.audit.record({
      type: 'image.removed',
      principal: caller.principal.id,
      source: caller.source,
      subject: image.digest,
      payload: { ref, ...result },
    });
    return result;
  }

  /**
   * A reference as a user types it: a digest, a short id (12+ hex digits of the manifest
   * digest), `name@digest`, or `name[:tag]` (tag `latest` when none, as Docker does).
   */
  async resolve(ref: string, scope: Scope): Promise<{ image: ImageRecord; tag?: ImageTag }> {
    const notFound = () =>
      new WardenError('IMAGE_NOT_FOUND', `no image '${ref}' here; 'warden image ls' lists the images`, {
        ref,
      });
    const id = /^(?:sha256:)?([a-f0-9]{12,64})$/.exec(ref);
    if (id) {
      if (id[1].length === 64) {
        const image = await this.repo.findByDigest(`sha256:${id[1]}`, scope);
        if (image) return { image };
      } else {
        const found = await this.repo.findByDigestPrefix(id[1], scope);
        if (found.length > 1)
          throw new WardenError(
            'IMAGE_REFERENCE_AMBIGUOUS',
            `'${ref}' matches more than one image; give more digits`,
            {
              ref,
            },
          );
        if (found.length === 1) return { image: found[0] };
      }
      // 12+ hex digits can also be a repository name; fall through to names.
    }
    const parsed = parseImageReference(ref);
    if (!parsed.ok) {
      if (id) throw notFound();
      throw new WardenError('IMAGE_REFERENCE_INVALID', parsed.error, { ref });
    }
    const { registry, repository, digest } = parsed.ref;
    if (digest) {
      // The digest decides; the name is a reminder of where it came from, as in Docker.
      const image = await this.repo.findByDigest(digest, scope);
      if (!image) throw notFound();
      return { image };
    }
    const tag = { registry, repository, tag: parsed.ref.tag ?? 'latest' };
    const image = await this.repo.findByTag(tag, scope);
    if (!image) throw notFound();
    return { image, tag };
  }
}

/**
 * Who owns what a principal brings in (platform/scope): the team it names or its first
 * team; an admin's without a team is shared, the platform's own images every team may run.
 */
export function imageOwner(p: Principal, team?: string): ImageOwner {
  const owning = owningTeam(p, team);
  return { team: owning, createdBy: p.id, shared: owning === null && p.role === 'admin' };
}

function parseTagArgument(text: string): ImageTag {
  const r = parseImageReference(text);
  if (!r.ok) throw new WardenError('IMAGE_REFERENCE_INVALID', r.error, { tag: text });
  if (r.ref.digest)
    throw new WardenError('IMAGE_REFERENCE_INVALID', `tag "${text}" has a digest; give name[:tag]`, {
      tag: text,
    });
  return { registry: r.ref.registry, repository: r.ref.repository, tag: r.ref.tag ?? 'latest' };
}
