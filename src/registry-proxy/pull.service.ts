import { Inject, Injectable, Logger } from '@nestjs/common';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { Decision, PolicyService } from '../policy';
import { acceptedTypes, negotiate } from './manifest-accept';
import { ManifestCache, ServedManifest } from './manifest-cache';
import { FsBlobStore } from '../images';
import { BlobSource, ProxyBlobStore } from './stores/proxy-blob-store';
import { Upstreams, UpstreamTarget } from './upstreams';

export interface PullRecord {
  reference: string;
  digest?: string;
  bytes?: number;
  /** `image`: a whole pull into the local images (`POST /images/pull`, a launch's auto-pull). */
  kind: 'manifest' | 'blob' | 'tags' | 'image';
  cache?: string;
  outcome?: 'complete' | 'aborted' | 'failed';
  /** For whole-image pulls: the image's size and layer count (`bytes` is what came from upstream). */
  size?: number;
  layers?: number;
  error?: string;
  /** A manifest served in place of this index (a client that accepts no index asked for a tag). */
  index?: string;
}

/**
 * What a pull through the proxy is, apart from HTTP: a policy decision on the upstream name,
 * the manifest or blob from the store or the upstream, and an `image.pulled` audit event.
 * The /v2/ controller and the runtime's pulls both go through here.
 */
@Injectable()
export class PullService {
  private readonly log = new Logger('registry');
  readonly blobs: ProxyBlobStore;
  private readonly manifests: ManifestCache;
  /** Who started each running fetch, so a failed one is audited against them. */
  private readonly fillOwners = new Map<string, { caller: Caller; target: UpstreamTarget }>();

  constructor(
    private readonly upstreams: Upstreams,
    private readonly policy: PolicyService,
    private readonly audit: AuditService,
    store: FsBlobStore,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    this.blobs = new ProxyBlobStore(store, {
      fillTimeoutMs: config.registry.fillTimeoutMs,
      onFillFailed: (digest, error) => this.fillFailed(digest, error),
    });
    this.manifests = new ManifestCache(
      store,
      join(config.dataDir, 'registry', 'tags'),
      config.registry.tagTtlMs,
    );
  }

  resolve(name: string): UpstreamTarget {
    return this.upstreams.resolve(name);
  }

  /**
   * Policy on every pull. `record` makes it a recorded decision (manifest GETs: the pull
   * itself); blob and HEAD requests are checked without a decision event of their own, but
   * a denial is audited either way.
   */
  async authorize(
    caller: Caller,
    target: UpstreamTarget,
    reference: string,
    record: boolean,
    kind: PullRecord['kind'],
  ): Promise<Decision> {
    const sep = reference.includes(':') ? '@' : ':';
    const imageRef = `${target.imageName}${sep}${reference}`;
    const decision = await this.policy.decidePull(caller, imageRef, { dryRun: !record });
    if (decision.allowed) return decision;
    const why =
      decision.reasons.map((r) => `${r.message} (rule ${r.rule})`).join('; ') || 'no policy admits it';
    this.record(caller, target, { kind, reference, outcome: 'failed', error: 'denied' }, 'denied', decision);
    throw new WardenError(
      'REGISTRY_DENIED',
      `pull of ${target.name} denied by policy '${decision.policy ?? 'none'}': ${why}`,
      {
        name: target.name,
        image: imageRef,
        policy: decision.policy,
        reasons: decision.reasons,
      },
    );
  }

  async manifest(target: UpstreamTarget, reference: string, isDigest: boolean): Promise<ServedManifest> {
    const m = await this.manifests.get(target, reference, isDigest);
    if (m.cache !== 'miss') this.touch(m.digest);
    return m;
  }

  /**
   * The manifest in a type the client's Accept admits (see manifest-accept.ts): as stored, or
   * for an index asked by tag by a client that takes none, its linux/amd64 manifest (`index`
   * then names the index it came from).
   */
  negotiatedManifest(
    target: UpstreamTarget,
    reference: string,
    isDigest: boolean,
    accept: string | string[] | undefined,
  ): Promise<{ manifest: ServedManifest; index?: string }> {
    return this.manifest(target, reference, isDigest).then((m) =>
      negotiate(m, acceptedTypes(accept), { name: target.name, reference, isDigest }, (digest) =>
        this.manifest(target, digest, true),
      ),
    );
  }

  /** The blob from the store, or the one fetch of it (started by this caller if none runs). */
  async blob(caller: Caller, target: UpstreamTarget, digest: string): Promise<BlobSource> {
    const src = await this.blobs.source(digest, () => {
      this.fillOwners.set(digest, { caller, target });
      return target.client.getBlob(target.repository, digest);
    });
    if (src.kind === 'fill') void src.fill.done.then(() => this.fillOwners.delete(digest));
    else this.touch(digest);
    return src;
  }

  /**
   * Marks a cached blob as used now (its mtime), so `image prune --older-than` keeps what
   * clients still pull through the proxy though no local image references it.
   */
  touch(digest: string): void {
    const now = new Date();
    void utimes(this.blobs.local.path(digest), now, now).catch(() => undefined);
  }

  /** An `image.pulled` event; never fails the request it describes. */
  record(
    caller: Caller,
    target: UpstreamTarget,
    pull: PullRecord,
    decision: 'allowed' | 'denied' = 'allowed',
    policyDecision?: Decision,
  ): void {
    this.audit
      .record({
        type: 'image.pulled',
        principal: caller.principal.id,
        source: caller.source,
        subject: `${target.name}${pull.reference.includes(':') ? '@' : ':'}${pull.reference}`,
        decision,
        policyHash: policyDecision?.policyVersion ?? undefined,
        payload: {
          upstream: target.upstream.alias,
          repository: target.name,
          upstreamRepository: target.repository,
          image: target.imageName,
          ...pull,
          ...(policyDecision && !policyDecision.allowed ? { reasons: policyDecision.reasons } : {}),
        },
      })
      .catch((err: unknown) => this.log.error({ err }, 'could not record image.pulled'));
  }

  private fillFailed(digest: string, error: Error): void {
    const owner = this.fillOwners.get(digest);
    this.fillOwners.delete(digest);
    this.log.warn({ digest, err: error.message }, 'blob fetch failed; nothing cached');
    if (owner)
      this.record(owner.caller, owner.target, {
        kind: 'blob',
        reference: digest,
        digest,
        outcome: 'failed',
        error: error.message,
        ...(error instanceof WardenError && error.detail.corrupt ? { cache: 'corrupt-upstream' } : {}),
      });
  }
}
