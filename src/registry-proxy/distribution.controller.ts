import { All, Controller, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { WardenError } from '../platform/errors';
import { Caller, Public } from '../platform/http';
import { parseRange } from './http-range';
import { PullService } from './pull.service';
import { API_VERSION_HEADER, RegistryExceptionFilter } from './registry-exception.filter';
import { RegistryAuthGuard, RegistryRequest } from './registry-auth.guard';
import { parseRegistryPath, RegistryRoute } from './registry-path';
import type { BlobFill } from './stores/blob-fill';
import type { UpstreamTarget } from './upstreams';

/** Bytes a client's socket may queue from a running fetch before the reader waits for it to drain. */
const FILL_MAX_QUEUED = 4 * 1024 * 1024;

/** Lifetime announced for tokens from /v2/token: the Warden token itself, so this is a re-ask hint. */
const TOKEN_EXPIRES_IN_S = 3600;

const unsupported = (what: string) =>
  new WardenError(
    'REGISTRY_UNSUPPORTED',
    `${what} is not supported: Warden's /v2/ is a read-only pull-through proxy`,
  );

/**
 * The OCI distribution API (pull side) on Warden's HTTP port. One handler parses the raw
 * path itself: names contain '/', and each segment must be validated before it is decoded
 * (see registry-path.ts). REST's AuthGuard and error filter step aside (@Public, own filter):
 * registry clients need Basic/Bearer challenges and OCI error bodies.
 */
@ApiExcludeController()
@Public()
@UseGuards(RegistryAuthGuard)
@UseFilters(RegistryExceptionFilter)
@Controller('v2')
export class DistributionController {
  constructor(private readonly pulls: PullService) {}

  @All()
  root(@Req() req: RegistryRequest, @Res() res: Response): Promise<void> {
    return this.dispatch(req, res);
  }

  @All('*path')
  any(@Req() req: RegistryRequest, @Res() res: Response): Promise<void> {
    return this.dispatch(req, res);
  }

  private async dispatch(req: RegistryRequest, res: Response): Promise<void> {
    const route = parseRegistryPath(req.originalUrl.split('?')[0]);
    res.setHeader(...API_VERSION_HEADER);
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (!route) throw new WardenError('ROUTE_NOT_FOUND', `no registry route ${req.method} ${req.path}`);
    if (route.kind === 'upload') throw unsupported('pushing blobs');
    if (!read) throw unsupported(`${req.method} on ${route.kind === 'base' ? '/v2/' : route.kind + 's'}`);
    const caller = req.caller as Caller;
    switch (route.kind) {
      case 'base':
        res.status(200).json({});
        return;
      case 'token':
        return this.token(req, res);
      case 'manifest':
        return this.manifest(caller, route, req, res);
      case 'blob':
        return this.blob(caller, route, req, res);
      case 'tags':
        return this.tags(caller, route, req, res);
    }
  }

  /** The registry token endpoint: the Warden token that authenticated this request, as a Bearer token. */
  private token(req: RegistryRequest, res: Response): void {
    const token = req.registrySecret as string;
    res.status(200).json({
      token,
      access_token: token,
      expires_in: TOKEN_EXPIRES_IN_S,
      issued_at: new Date().toISOString(),
    });
  }

  private async manifest(
    caller: Caller,
    route: Extract<RegistryRoute, { kind: 'manifest' }>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const target = this.pulls.resolve(route.name);
    await this.pulls.authorize(caller, target, route.reference, req.method === 'GET', 'manifest');
    const { manifest: m, index } = await this.pulls.negotiatedManifest(
      target,
      route.reference,
      route.isDigest,
      req.headers.accept,
    );
    // A tag's answer depends on the Accept header (an index, or one platform's manifest).
    res.setHeader('Vary', 'Accept');
    res.setHeader('Content-Type', m.mediaType);
    res.setHeader('Docker-Content-Digest', m.digest);
    res.setHeader('ETag', `"${m.digest}"`);
    res.setHeader('Content-Length', m.bytes.length);
    if (
      req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${m.digest}"`)
    ) {
      res.status(304).end();
      return;
    }
    res.status(200);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.end(m.bytes);
    const reference = route.reference;
    this.pulls.record(caller, target, {
      kind: 'manifest',
      reference,
      digest: m.digest,
      bytes: m.bytes.length,
      cache: m.cache,
      ...(index ? { index } : {}),
    });
  }

  private async blob(
    caller: Caller,
    route: Extract<RegistryRoute, { kind: 'blob' }>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const { digest } = route;
    const target = this.pulls.resolve(route.name);
    await this.pulls.authorize(caller, target, digest, false, 'blob');
    if (req.method === 'HEAD') return this.headBlob(target, digest, res);
    const src = await this.pulls.blob(caller, target, digest);
    let size: number | undefined;
    if (src.kind === 'local') size = src.info.size;
    else {
      await src.fill.ready;
      size = src.fill.size;
      // A chunked upstream answer gives no size; a range then waits for the whole blob.
      if (size === undefined && req.headers.range) {
        const outcome = await src.fill.done;
        if (!outcome.ok) throw outcome.error;
        size = outcome.size;
      }
    }
    const range = size === undefined ? undefined : parseRange(req.headers.range, size, digest);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      res.setHeader('Content-Length', range.end - range.start + 1);
    } else {
      res.status(200);
      if (size !== undefined) res.setHeader('Content-Length', size);
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? (size ?? Number.MAX_SAFE_INTEGER) - 1;
    let bytes = 0;
    let outcome: 'complete' | 'aborted' | 'failed' = 'complete';
    let error: string | undefined;
    try {
      if (src.kind === 'local') {
        const sent = await this.pulls.blobs.sendLocal(src.info, start, end, res);
        bytes = sent.sent;
        if (!sent.complete) outcome = 'aborted';
      } else {
        bytes = await this.fromFill(src.fill, start, end, res);
        if (bytes < 0) {
          bytes = -bytes - 1;
          outcome = 'aborted';
        }
      }
    } catch (err) {
      // Headers are out: the only signal left is a cut connection, so the client sees a
      // short body and no complete copy of bytes that failed verification.
      outcome = res.writableEnded ? 'aborted' : 'failed';
      error = (err as Error).message;
      res.destroy();
    }
    this.pulls.record(caller, target, {
      kind: 'blob',
      reference: digest,
      digest,
      bytes,
      cache: src.kind === 'local' ? 'hit' : 'miss',
      outcome,
      ...(error ? { error } : {}),
    });
  }

  /**
   * Streams from a running fetch; returns bytes sent, or -(bytes+1) when the client left first.
   * Each batch (many upstream chunks) goes out corked, as one writev; the socket may queue a
   * few MiB before this waits for it (the 16 KiB default would wait after every chunk).
   */
  private async fromFill(fill: BlobFill, start: number, end: number, res: Response): Promise<number> {
    fill.attach();
    let sent = 0;
    // One close listener for the whole response, not one per drain wait.
    let wake: () => void = () => undefined;
    const onClose = () => wake();
    res.once('close', onClose);
    try {
      for await (const batch of fill.read(start, end)) {
        if (res.destroyed) {
          fill.release(batch);
          return -(sent + 1);
        }
        res.cork();
        for (let i = 0; i < batch.length; i++) {
          // Writes complete in order: the last one's callback means the socket let go of all.
          res.write(batch[i], i === batch.length - 1 ? () => fill.release(batch) : undefined);
          sent += batch[i].length;
        }
        res.uncork();
        if (res.writableLength > FILL_MAX_QUEUED) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            res.once('drain', resolve);
          });
          res.removeListener('drain', wake);
          if (res.destroyed) return -(sent + 1);
        }
      }
      res.end();
      return sent;
    } finally {
      res.removeListener('close', onClose);
      fill.detach();
    }
  }

  private async headBlob(target: UpstreamTarget, digest: string, res: Response): Promise<void> {
    let size = (await this.pulls.blobs.local.stat(digest))?.size;
    if (size === undefined) {
      const up = await target.client.getBlob(target.repository, digest, 'HEAD');
      up.resume();
      const length = Number(up.headers['content-length']);
      size = Number.isSafeInteger(length) ? length : undefined;
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    if (size !== undefined) res.setHeader('Content-Length', size);
    res.status(200).end();
  }

  private async tags(
    caller: Caller,
    route: Extract<RegistryRoute, { kind: 'tags' }>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const target = this.pulls.resolve(route.name);
    await this.pulls.authorize(caller, target, 'tags', false, 'tags');
    const q = new URLSearchParams();
    const n = typeof req.query.n === 'string' && /^\d{1,6}$/.test(req.query.n) ? req.query.n : undefined;
    const last =
      typeof req.query.last === 'string' && req.query.last.length <= 128 ? req.query.last : undefined;
    if (n) q.set('n', n);
    if (last) q.set('last', last);
    const query = q.size ? `?${q.toString()}` : '';
    const up = await target.client.tags(target.repository, query);
    const body = JSON.parse(up.body.toString('utf8')) as { tags?: unknown };
    // The next page, in the client's names: the upstream's own Link would name its host and path.
    const next = up.link && /[?&]last=([^&>]+)/.exec(up.link);
    if (next)
      res.setHeader(
        'Link',
        `</v2/${target.name}/tags/list?${n ? `n=${n}&` : ''}last=${next[1]}>; rel="next"`,
      );
    res.status(200).json({ name: target.name, tags: Array.isArray(body.tags) ? body.tags : [] });
  }
}
