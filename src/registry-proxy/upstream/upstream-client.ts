import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { RegistryUpstream } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import { readBody, send, UpstreamConnectError } from './http-request';
import { MANIFEST_ACCEPT, manifestMediaType } from './media-types';
import { TokenCache } from './token-cache';
import { Challenge, parseChallenge } from './www-authenticate';

/** Manifests are small JSON documents; anything bigger is not one (distribution caps at 4 MiB). */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const mediaTypeOf = (res: IncomingMessage) => res.headers['content-type']?.split(';')[0].trim();

/**
 * Talks to one upstream registry. It learns what the upstream wants from its first 401
 * (Bearer challenge or Basic) and from then on sends credentials up front; Bearer tokens are
 * cached per scope until they expire, so a pull costs one token request, not one per blob.
 * Messages name the upstream by alias only: its address and credentials never reach a client.
 */
export class UpstreamClient {
  private challenge?: Challenge;
  private readonly tokens: TokenCache;

  constructor(
    readonly upstream: RegistryUpstream,
    private readonly timeoutMs = 30_000,
  ) {
    this.tokens = new TokenCache(upstream, timeoutMs);
  }

  /** `GET /v2/`: true when the upstream answers and accepts Warden's credentials. */
  async ping(): Promise<boolean> {
    const res = await this.request('GET', '/v2/', undefined, {}).catch(() => undefined);
    res?.resume();
    return res?.statusCode === 200;
  }

  /** Digest, type and size of a manifest by HEAD (cheap, and not counted by pull limits); undefined on 404. */
  async headManifest(
    repo: string,
    ref: string,
  ): Promise<{ digest?: string; mediaType?: string; size?: number } | undefined> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${ref}`, repo, {
      accept: MANIFEST_ACCEPT.join(', '),
    });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw this.failure(res, `manifest ${repo}:${ref}`);
    const digest = res.headers['docker-content-digest'];
    const length = Number(res.headers['content-length']);
    return {
      digest: typeof digest === 'string' ? digest : undefined,
      mediaType: mediaTypeOf(res),
      size: Number.isFinite(length) ? length : undefined,
    };
  }

  /**
   * The manifest's bytes, verified: by digest they must hash to it; by tag they must hash to
   * the Docker-Content-Digest the upstream claims (when it claims one).
   */
  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${ref}`, repo, {
      accept: MANIFEST_ACCEPT.join(', '),
    });
    if (res.statusCode === 404) {
      res.resume();
      throw new WardenError('REGISTRY_MANIFEST_UNKNOWN', `manifest ${ref} is not in ${this.alias}/${repo}`, {
        upstream: this.alias,
        repository: repo,
        reference: ref,
      });
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw this.failure(res, `manifest ${repo}:${ref}`);
    }
    const bytes = await readBody(res, MANIFEST_LIMIT).catch((err: Error) => {
      throw this.invalid(`manifest ${repo}:${ref} could not be read: ${err.message}`, { reference: ref });
    });
    const digest = sha256(bytes);
    const claimed = res.headers['docker-content-digest'];
    if (ref.includes(':') && ref !== digest)
      throw this.invalid(`manifest ${repo}@${ref} arrived with bytes hashing to ${digest}`, {
        reference: ref,
        actual: digest,
        corrupt: true,
      });
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest)
      throw this.invalid(`manifest ${repo}:${ref} is said to be ${claimed} but hashes to ${digest}`, {
        reference: ref,
        claimed,
        actual: digest,
        corrupt: true,
      });
    const mediaType = manifestMediaType(bytes) ?? mediaTypeOf(res);
    if (!mediaType || !MANIFEST_ACCEPT.includes(mediaType))
      throw this.invalid(`manifest ${repo}:${ref} has unsupported media type ${mediaType ?? '(none)'}`, {
        reference: ref,
        mediaType,
      });
    return { digest, mediaType, bytes };
  }

  /** The blob's response (200, or 206 for a range); BLOB_NOT_FOUND on 404. The caller verifies the bytes. */
  async getBlob(repo: string, digest: string, method: 'GET' | 'HEAD' = 'GET'): Promise<IncomingMessage> {
    // GET bodies come straight off the socket (http-request.ts, `rawBody`): blobs are the bulk of a pull.
    const res = await this.request(method, `/v2/${repo}/blobs/${digest}`, repo, {}, method === 'GET');
    if (res.statusCode === 200) return res;
    res.resume();
    if (res.statusCode === 404)
      throw new WardenError('BLOB_NOT_FOUND', `blob ${digest} is not in ${this.alias}/${repo}`, {
        upstream: this.alias,
        repository: repo,
        digest,
      });
    throw this.failure(res, `blob ${digest}`);
  }

  /** tags/list as the upstream answers it (status, JSON body, pagination Link). */
  async tags(repo: string, query: string): Promise<{ status: number; body: Buffer; link?: string }> {
    const res = await this.request('GET', `/v2/${repo}/tags/list${query}`, repo, {
      accept: 'application/json',
    });
    if (res.statusCode === 404) {
      res.resume();
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `repository ${this.alias}/${repo} is not known upstream`,
        {
          upstream: this.alias,
          repository: repo,
        },
      );
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw this.failure(res, `tags of ${repo}`);
    }
    const link = res.headers.link;
    return {
      status: 200,
      body: await readBody(res, MANIFEST_LIMIT),
      link: typeof link === 'string' ? link : undefined,
    };
  }

  /**
   * Push, step 1: is the blob there already (HEAD), and if not, can the upstream link it
   * from another repository it has (`?mount=&from=`, distribution's cross-repository mount:
   * 201)? Answers how it is present, or where to upload it (the 202's Location).
   */
  async prepareBlob(
    repo: string,
    digest: string,
    mountFrom: string[],
  ): Promise<{ present: 'exists' | 'mounted' } | { upload: URL }> {
    const head = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, repo, {}, false, 'push');
    head.resume();
    if (head.statusCode === 200) return { present: 'exists' };
    for (const from of [...mountFrom.filter((f) => f !== repo), undefined]) {
      const query = from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
      const res = await this.request('POST', `/v2/${repo}/blobs/uploads/${query}`, repo, {}, false, 'push');
      res.resume();
      if (res.statusCode === 201 && from) return { present: 'mounted' };
      // Not mounted (or no mount asked): the upload session it opened is used as it is.
      if (res.statusCode === 202 && res.headers.location)
        return { upload: new URL(res.headers.location, this.upstream.baseUrl) };
      if (res.statusCode !== 202) throw this.pushFailure(res, `upload of ${digest} to ${repo}`);
    }
    throw this.invalid(`the upload of ${digest} to ${repo} got no Location`, { digest });
  }

  /** Push, step 2: the blob's bytes in one monolithic PUT to the upload location. */
  async uploadBlob(repo: string, upload: URL, digest: string, size: number, body: Readable): Promise<void> {
    upload.searchParams.set('digest', digest);
    const res = await this.request(
      'PUT',
      upload.pathname + upload.search,
      repo,
      { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      false,
      'push',
      body,
    );
    res.resume();
    if (res.statusCode !== 201) throw this.pushFailure(res, `blob ${digest} to ${repo}`);
  }

  /**
   * Push, step 2 for a big blob (the distribution spec's chunked upload): bytes
   * [start, start + length) in one PATCH with their Content-Range; the upstream answers 202 with
   * the range it holds (which must now end at this chunk's last byte) and where the upload goes on.
   */
  async uploadChunk(
    repo: string,
    upload: URL,
    digest: string,
    start: number,
    length: number,
    body: Readable,
  ): Promise<URL> {
    const last = start + length - 1;
    const res = await this.request(
      'PATCH',
      upload.pathname + upload.search,
      repo,
      {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'content-range': `${start}-${last}`,
      },
      false,
      'push',
      body,
    );
    res.resume();
    if (res.statusCode !== 202)
      throw this.pushFailure(res, `bytes ${start}-${last} of blob ${digest} to ${repo}`);
    // Range is inclusive, "0-<last byte held>"; anything else means the upstream lost bytes.
    const held = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
    if (!held || Number(held[1]) !== last)
      throw this.invalid(
        `upstream holds ${String(res.headers.range ?? 'no range')} of blob ${digest} after a chunk ending at ${last}`,
        { digest },
      );
    if (!res.headers.location)
      throw this.invalid(`the upload of ${digest} to ${repo} got no Location`, { digest });
    return new URL(res.headers.location, this.upstream.baseUrl);
  }

  /** Push, chunked: the upload closed with the blob's digest (an empty PUT); the upstream checks it. */
  async finishUpload(repo: string, upload: URL, digest: string): Promise<void> {
    upload.searchParams.set('digest', digest);
    const res = await this.request(
      'PUT',
      upload.pathname + upload.search,
      repo,
      { 'content-type': 'application/octet-stream', 'content-length': '0' },
      false,
      'push',
      Buffer.alloc(0),
    );
    res.resume();
    if (res.statusCode !== 201) throw this.pushFailure(res, `blob ${digest} to ${repo}`);
  }

  /** Push, last step: the manifest under its tag; answers the digest the upstream reports. */
  async putManifest(repo: string, tag: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.request(
      'PUT',
      `/v2/${repo}/manifests/${tag}`,
      repo,
      { 'content-type': mediaType },
      false,
      'push',
      bytes,
    );
    res.resume();
    if (res.statusCode !== 201) throw this.pushFailure(res, `manifest ${repo}:${tag}`);
    const digest = res.headers['docker-content-digest'];
    return typeof digest === 'string' ? digest : sha256(bytes);
  }

  private pushFailure(res: IncomingMessage, what: string): WardenError {
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403)
      return new WardenError(
        'REGISTRY_DENIED',
        `upstream '${this.alias}' refused the push of ${what}: Warden's credentials for '${this.alias}' do not allow pushing there`,
        { upstream: this.alias, upstreamStatus: status },
      );
    return this.failure(res, what);
  }

  private get alias(): string {
    return this.upstream.alias;
  }

  /** Sends with the credentials the upstream asked for; on a 401 learns its challenge and retries once. */
  private async request(
    method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH',
    path: string,
    repo: string | undefined,
    headers: Record<string, string>,
    rawBody = false,
    access: 'pull' | 'push' = 'pull',
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.upstream.baseUrl);
    const scope =
      repo === undefined ? undefined : `repository:${repo}:${access === 'push' ? 'pull,push' : 'pull'}`;
    // A stream can be sent once: its request must already carry what the upstream wants.
    const once = body !== undefined && !Buffer.isBuffer(body);
    try {
      for (let attempt = 0; ; attempt++) {
        const authorization = await this.authorization(scope, attempt > 0);
        const res = await send(url, {
          method,
          headers: {
            ...headers,
            ...(authorization ? { authorization } : {}),
            'user-agent': 'warden-registry-proxy',
          },
          timeoutMs: this.timeoutMs,
          allowInsecure: this.upstream.baseUrl.startsWith('http:'),
          rawBody,
          body,
        });
        if (res.statusCode !== 401 || attempt > 0 || once) return res;
        const challenge = parseChallenge(res.headers['www-authenticate']);
        if (!challenge) return res;
        res.resume();
        this.challenge = challenge;
      }
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw this.unreachable(err);
    }
  }

  private async authorization(scope: string | undefined, renew: boolean): Promise<string | undefined> {
    const creds = this.upstream.credentials;
    // A configured token is the upstream's own bearer token (an identity or access token):
    // sent as it is on every request, never exchanged at a realm.
    if (creds && 'token' in creds) return `Bearer ${creds.token}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic')
      return creds && `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const token = await this.tokens.get(ch, scope, renew).catch((err: unknown) => {
      if (err instanceof WardenError) throw err;
      throw this.unreachable(err);
    });
    return token && `Bearer ${token}`;
  }

  unreachable(err: unknown): WardenError {
    const code = (err as { cause?: { code?: string } })?.cause?.code;
    const why = err instanceof UpstreamConnectError && !code ? err.message : (code ?? 'connection failed');
    return new WardenError(
      'REGISTRY_UPSTREAM_UNAVAILABLE',
      `upstream '${this.alias}' is unreachable (${why}); only content already cached can be served`,
      { upstream: this.alias },
      { cause: err },
    );
  }

  private invalid(message: string, detail: Record<string, unknown>): WardenError {
    return new WardenError(
      'REGISTRY_UPSTREAM_FAILED',
      `upstream '${this.alias}' sent an invalid answer: ${message}`,
      {
        upstream: this.alias,
        ...detail,
      },
    );
  }

  private failure(res: IncomingMessage, what: string): WardenError {
    const status = res.statusCode ?? 0;
    const detail = { upstream: this.alias, upstreamStatus: status };
    if (status === 401 || status === 403)
      return new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `upstream '${this.alias}' refused ${what}: the repository may not exist, or Warden's credentials for '${this.alias}' do not allow pulling it`,
        detail,
      );
    if (status === 429)
      return new WardenError(
        'REGISTRY_TOO_MANY_REQUESTS',
        `upstream '${this.alias}' is rate-limiting pulls; retry later`,
        {
          ...detail,
          retryAfter: res.headers['retry-after'],
        },
      );
    return new WardenError(
      'REGISTRY_UPSTREAM_FAILED',
      `upstream '${this.alias}' answered ${status} for ${what}`,
      detail,
    );
  }
}
