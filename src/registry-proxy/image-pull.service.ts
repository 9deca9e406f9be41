import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { PullService } from './pull.service';
import { selectPlatform } from './upstream/media-types';
import { Upstreams } from './upstreams';
import { formatImageReference, ImageReference } from '../images';
import type { ParsedImage } from '../images';
import {
  Descriptor,
  hostPlatform,
  imageConfigSchema,
  INDEX_TYPES,
  isLayerMediaType,
  manifestSchema,
  parseDocument,
} from '../images';
import { ImageRecord, ImageRepository, imageOwner, type ImageOwner } from '../images';
import { EVERYTHING, scopeOf } from '../platform/scope';
import { findPullTarget, PullTarget, pullTargetOf } from './pull-target';

/** One progress message, shaped like the Docker Engine's pull stream (the docker CLI renders these). */
export interface PullProgress {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface PullResult {
  digest: string;
  /** The name it was recorded under, as policy sees it: `127.0.0.1:5000/app:1`. */
  reference: string;
  status: 'downloaded' | 'up-to-date';
  layers: number;
  /** Manifest + config + layers. */
  size: number;
  /** Fetched from the upstream by this pull (0 when everything was cached). */
  bytes: number;
  upstream: string;
  image: ImageRecord;
}

/** Layers fetched at once, as the docker daemon does (max-concurrent-downloads). */
const PARALLEL_LAYERS = 3;
const PROGRESS_EVERY_MS = 200;
const MAX_CONFIG = 4 * 1024 * 1024;

const shortId = (digest: string) => digest.slice(7, 19);

/**
 * `docker pull` for Warden: an upstream image into the local images, through the same code as
 * the /v2/ proxy (policy on the upstream name, manifest cache, single-flight verified blob
 * fetches into the one store), then recorded under the name policy sees — so a launch of
 * `127.0.0.1:5000/app:1` finds it, and a policy denying that registry denies the launch.
 */
@Injectable()
export class ImagePullService {
  constructor(
    private readonly pulls: PullService,
    private readonly upstreams: Upstreams,
    private readonly repo: ImageRepository,
  ) {}

  /** Where a reference would be pulled from; undefined when no configured upstream serves it. */
  targetOf(ref: ImageReference): PullTarget | undefined {
    return findPullTarget(this.upstreams, ref);
  }

  /** `team`: the team that may use the image (one of the caller's; default its first). */
  pull(
    caller: Caller,
    ref: string,
    onProgress?: (p: PullProgress) => void,
    team?: string,
  ): Promise<PullResult> {
    return this.pullTarget(caller, pullTargetOf(this.upstreams, ref), onProgress, team);
  }

  async pullTarget(
    caller: Caller,
    t: PullTarget,
    onProgress: (p: PullProgress) => void = () => undefined,
    team?: string,
  ): Promise<PullResult> {
    // Who will own it is settled first: a team the caller is not in fetches nothing.
    const owner = imageOwner(caller.principal, team);
    const emit = (p: PullProgress) => {
      try {
        onProgress(p);
      } catch {
        // A listener that fails (a client gone mid-stream) must not fail the pull.
      }
    };
    const name = formatImageReference({
      registry: t.registry,
      repository: t.repository,
      tag: t.tag,
      digest: t.isDigest ? t.reference : undefined,
    });
    await this.pulls.authorize(caller, t.target, t.reference, true, 'image');
    emit({ status: `Pulling from ${t.repository}`, id: t.tag ?? t.reference });
    const counter = { bytes: 0 };
    try {
      const result = await this.fetchAndRecord(caller, t, name, counter, emit, owner);
      this.pulls.record(caller, t.target, {
        kind: 'image',
        reference: t.reference,
        digest: result.digest,
        bytes: result.bytes,
        size: result.size,
        layers: result.layers,
        cache: result.status === 'up-to-date' ? 'hit' : 'miss',
        outcome: 'complete',
      });
      return result;
    } catch (err) {
      this.pulls.record(caller, t.target, {
        kind: 'image',
        reference: t.reference,
        bytes: counter.bytes,
        outcome: 'failed',
        error: (err as Error).message,
      });
      throw err;
    }
  }

  private async fetchAndRecord(
    caller: Caller,
    t: PullTarget,
    name: string,
    counter: { bytes: number },
    emit: (p: PullProgress) => void,
    owner: ImageOwner,
  ): Promise<PullResult> {
    const m = await this.manifestFor(t, counter);
    const parsed = parseDocument(manifestSchema, m.bytes, `manifest ${m.digest}`);
    if (!parsed.ok) throw this.invalid(t, parsed.error, m.digest);
    const manifest = parsed.value;
    manifest.layers.forEach((l, i) => {
      if (!isLayerMediaType(l.mediaType))
        throw this.invalid(
          t,
          `layer ${i} (${l.digest}) has media type ${l.mediaType}, which Warden cannot unpack`,
        );
    });
    const before = t.tag
      ? await this.repo.findByTag(
          { registry: t.registry, repository: t.repository, tag: t.tag },
          scopeOf(caller.principal),
        )
      : undefined;

    if (manifest.config.size > MAX_CONFIG)
      throw this.invalid(
        t,
        `image config ${manifest.config.digest} is ${manifest.config.size} bytes; too large`,
      );
    const configBytes = await this.readConfig(caller, t, manifest.config, counter);
    const config = parseDocument(imageConfigSchema, configBytes, `image config ${manifest.config.digest}`);
    if (!config.ok) throw this.invalid(t, config.error);
    const diffIds = config.value.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length)
      throw this.invalid(
        t,
        `${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`,
      );
    manifest.layers.forEach((l, i) => {
      // An uncompressed layer's digest is its diff_id (image-spec config.md); free to check here.
      if (/tar$/.test(l.mediaType) && l.digest !== diffIds[i])
        throw this.invalid(
          t,
          `layer ${i} (${l.digest}) is an uncompressed tar whose diff_id is ${diffIds[i]}`,
        );
    });

    await this.fetchLayers(caller, t, manifest.layers, counter, emit);

    const image: ParsedImage = {
      manifestDigest: m.digest,
      manifestMediaType: manifest.mediaType ?? m.mediaType,
      manifestSize: m.bytes.length,
      configDigest: manifest.config.digest,
      configSize: manifest.config.size,
      config: config.value,
      layers: manifest.layers.map((l, i) => ({
        digest: l.digest,
        mediaType: l.mediaType,
        size: l.size,
        diffId: diffIds[i],
      })),
      tags: t.tag ? [{ registry: t.registry, repository: t.repository, tag: t.tag }] : [],
    };
    await this.repo.withBlobLock('shared', async (q) => {
      // A prune may have run since the fetch (nothing referenced these blobs yet): whatever it
      // took is fetched again before the rows that make them referenced are written.
      if (!(await this.pulls.blobs.local.has(m.digest)))
        await this.pulls.blobs.local.put(m.bytes, { expectedDigest: m.digest });
      for (const d of [manifest.config, ...manifest.layers])
        if (!(await this.pulls.blobs.local.has(d.digest))) await this.fetchBlob(caller, t, d, counter);
      // The puller's team may use it from now on, whoever pulled it first.
      await this.repo.insert(
        q,
        image,
        caller.principal.id,
        { registry: t.registry, repository: t.repository, upstream: t.target.upstream.alias },
        owner,
      );
    });
    const upToDate = before?.digest === m.digest;
    emit({ status: `Digest: ${m.digest}` });
    emit({
      status: upToDate
        ? `Status: Image is up to date for ${name}`
        : `Status: Downloaded newer image for ${name}`,
    });
    const record = (await this.repo.findByDigest(m.digest, EVERYTHING))!;
    return {
      digest: m.digest,
      reference: name,
      status: upToDate ? 'up-to-date' : 'downloaded',
      layers: image.layers.length,
      size: record.size,
      bytes: counter.bytes,
      upstream: t.target.upstream.alias,
      image: record,
    };
  }

  /** The image manifest for this host's platform: by tag or digest, through an index if there is one. */
  private async manifestFor(t: PullTarget, counter: { bytes: number }) {
    let m = await this.pulls.manifest(t.target, t.reference, t.isDigest);
    if (m.cache === 'miss') counter.bytes += m.bytes.length;
    if (INDEX_TYPES.includes(m.mediaType)) {
      const want = hostPlatform();
      const entry = selectPlatform(m.bytes, want);
      if (!entry)
        throw new WardenError(
          'REGISTRY_MANIFEST_UNKNOWN',
          `${t.target.name}:${t.reference} has no ${want.os}/${want.architecture} image`,
          { name: t.target.name, reference: t.reference, platform: want },
        );
      m = await this.pulls.manifest(t.target, entry.digest, true);
      if (m.cache === 'miss') counter.bytes += m.bytes.length;
    }
    return m;
  }

  /** The config's bytes; fetched again if a prune took the unreferenced blob in between. */
  private async readConfig(caller: Caller, t: PullTarget, d: Descriptor, counter: { bytes: number }) {
    for (let attempt = 0; ; attempt++) {
      await this.fetchBlob(caller, t, d, counter);
      try {
        return await readFile(this.pulls.blobs.local.path(d.digest));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
      }
    }
  }

  private async fetchLayers(
    caller: Caller,
    t: PullTarget,
    layers: Descriptor[],
    counter: { bytes: number },
    emit: (p: PullProgress) => void,
  ): Promise<void> {
    const cached = await Promise.all(layers.map((l) => this.pulls.blobs.local.has(l.digest)));
    layers.forEach((l, i) =>
      emit({
        status: cached[i] ? 'Already exists' : 'Pulling fs layer',
        id: shortId(l.digest),
        progressDetail: {},
      }),
    );
    const queue = layers.filter((_, i) => !cached[i]);
    const worker = async () => {
      for (let l = queue.shift(); l; l = queue.shift()) {
        const id = shortId(l.digest);
        await this.fetchBlob(caller, t, l, counter, (current, total) =>
          emit({ status: 'Downloading', id, progressDetail: { current, total } }),
        );
        emit({ status: 'Download complete', id, progressDetail: {} });
        emit({ status: 'Pull complete', id, progressDetail: {} });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_LAYERS, queue.length) }, worker));
  }

  /**
   * One blob into the store through the proxy's single flight (joined if a /v2/ client or
   * another pull is already fetching it); resolves only once it is verified and stored.
   */
  private async fetchBlob(
    caller: Caller,
    t: PullTarget,
    d: Descriptor,
    counter: { bytes: number },
    progress?: (current: number, total: number) => void,
  ): Promise<void> {
    const src = await this.pulls.blob(caller, t.target, d.digest);
    let size: number;
    if (src.kind === 'local') size = src.info.size;
    else {
      const fill = src.fill;
      fill.attach();
      let shown = -1;
      const tick = () => {
        if (fill.written !== shown) progress?.((shown = fill.written), fill.size ?? d.size);
      };
      const timer = progress ? setInterval(tick, PROGRESS_EVERY_MS) : undefined;
      try {
        const outcome = await fill.done;
        if (!outcome.ok) throw outcome.error;
        size = outcome.size;
        counter.bytes += size;
        tick();
      } finally {
        clearInterval(timer);
        fill.detach();
      }
    }
    // The digest matched, so the descriptor's size is what is wrong: the manifest lies.
    if (size !== d.size)
      throw this.invalid(t, `blob ${d.digest} is ${size} bytes, but the manifest says ${d.size}`);
  }

  private invalid(t: PullTarget, why: string, digest?: string): WardenError {
    return new WardenError(
      'REGISTRY_UPSTREAM_FAILED',
      `image ${t.target.name}:${t.reference} from upstream '${t.target.upstream.alias}' cannot be pulled: ${why}`,
      { upstream: t.target.upstream.alias, name: t.target.name, reference: t.reference, digest },
    );
  }
}
