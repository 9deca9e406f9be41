import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WardenError } from '../platform/errors';
import type { FsBlobStore } from '../images';
import { manifestMediaType } from './upstream/media-types';
import { MANIFEST_LIMIT } from './upstream/upstream-client';
import type { UpstreamTarget } from './upstreams';

export interface ServedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** hit: from the store without asking upstream; revalidated: upstream confirmed the tag; miss: fetched; stale: upstream down, cached copy served. */
  cache: 'hit' | 'revalidated' | 'miss' | 'stale';
}

interface TagRecord {
  digest: string;
  checkedAt: number;
}

/** Upstream failures that leave a cached tag worth serving (anything but "it is gone" or "it is corrupt"). */
const isOutage = (err: unknown) =>
  err instanceof WardenError &&
  (err.code === 'REGISTRY_UPSTREAM_UNAVAILABLE' ||
    err.code === 'REGISTRY_TOO_MANY_REQUESTS' ||
    (err.code === 'REGISTRY_UPSTREAM_FAILED' && err.detail.corrupt !== true));

/**
 * Manifests live in the blob store like any blob (content-addressed, verified). Tags are
 * pointers kept beside it, `<dir>/<alias>/<repo>/_tags/<tag>` (`_tags` cannot be a
 * repository component, so no name collides with it), trusted for `ttlMs` and then
 * re-checked upstream with a HEAD. Digests are never re-checked: their bytes cannot change.
 */
export class ManifestCache {
  private readonly inflight = new Map<string, Promise<ServedManifest>>();

  constructor(
    private readonly store: FsBlobStore,
    private readonly dir: string,
    private readonly ttlMs: number,
  ) {}

  get(target: UpstreamTarget, reference: string, isDigest: boolean): Promise<ServedManifest> {
    const key = `${target.upstream.alias}/${target.repository}@${reference}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = (isDigest ? this.byDigest(target, reference) : this.byTag(target, reference)).finally(() =>
        this.inflight.delete(key),
      );
      this.inflight.set(key, p);
    }
    return p;
  }

  private async byDigest(target: UpstreamTarget, digest: string): Promise<ServedManifest> {
    const local = await this.local(digest);
    if (local) return { ...local, cache: 'hit' };
    return { ...(await this.fetch(target, digest)), cache: 'miss' };
  }

  private async byTag(target: UpstreamTarget, tag: string): Promise<ServedManifest> {
    const file = join(this.dir, target.upstream.alias, target.repository, '_tags', tag);
    const rec = await readFile(file, 'utf8')
      .then((t) => JSON.parse(t) as TagRecord)
      .catch(() => undefined);
    if (rec && Date.now() - rec.checkedAt < this.ttlMs) {
      const local = await this.local(rec.digest);
      if (local) return { ...local, cache: 'hit' };
    }
    try {
      const head = await target.client.headManifest(target.repository, tag);
      if (!head)
        throw new WardenError(
          'REGISTRY_MANIFEST_UNKNOWN',
          `manifest ${target.name}:${tag} is not known upstream`,
          {
            name: target.name,
            tag,
          },
        );
      if (head.digest?.startsWith('sha256:')) {
        const local = await this.local(head.digest);
        if (local) {
          await this.writeTag(file, head.digest);
          return { ...local, cache: 'revalidated' };
        }
      }
      const fetched = await this.fetch(target, tag);
      await this.writeTag(file, fetched.digest);
      return { ...fetched, cache: 'miss' };
    } catch (err) {
      if (rec && isOutage(err)) {
        const local = await this.local(rec.digest);
        if (local) return { ...local, cache: 'stale' };
      }
      throw err;
    }
  }

  private async fetch(target: UpstreamTarget, reference: string) {
    const m = await target.client.getManifest(target.repository, reference);
    await this.store.put(m.bytes, { expectedDigest: m.digest });
    return m;
  }

  private async local(digest: string): Promise<Omit<ServedManifest, 'cache'> | undefined> {
    const info = await this.store.stat(digest);
    if (!info || info.size > MANIFEST_LIMIT) return undefined;
    const bytes = await readFile(this.store.path(digest));
    const mediaType = manifestMediaType(bytes);
    return mediaType ? { digest, mediaType, bytes } : undefined;
  }

  private async writeTag(file: string, digest: string): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ digest, checkedAt: Date.now() } satisfies TagRecord));
    await rename(tmp, file);
  }
}
