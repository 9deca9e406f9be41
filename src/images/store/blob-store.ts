import type { Readable } from 'node:stream';
import { WardenError } from '../../platform/errors';
import { isValidDigest } from '../reference/image-reference';

/**
 * The content-addressed store as its users see it. The runtime and the /v2/ proxy only read
 * through `BlobReader`, so the registry proxy can put a pull-through implementation (local
 * first, upstream on a miss, verified before it is kept) behind the same interface, the way
 * distribution's proxy implements its local storage interface.
 */
export interface BlobInfo {
  digest: string;
  size: number;
}

/** Inclusive byte offsets, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobReader {
  stat(digest: string): Promise<BlobInfo | undefined>;
  has(digest: string): Promise<boolean>;
  /** A read stream over the blob (or a range of it); BLOB_NOT_FOUND when absent. */
  open(digest: string, range?: ByteRange): Promise<Readable>;
}

export interface PutOptions {
  /** The digest the bytes must have; nothing is stored under any name if they don't. */
  expectedDigest?: string;
  expectedSize?: number;
  /** Give up (and keep nothing) once this many bytes have arrived. */
  maxBytes?: number;
}

export interface BlobWriter {
  /** Stores the bytes under their sha256; with `expectedDigest`, only if they hash to it. */
  put(source: Readable | AsyncIterable<Buffer> | Buffer, opts?: PutOptions): Promise<BlobInfo>;
  /** true when a blob was removed, false when there was none. */
  delete(digest: string): Promise<boolean>;
}

export type BlobStore = BlobReader & BlobWriter;

/** Only sha256 is stored: it is what every producer Warden meets uses (OCI image-spec descriptor.md). */
export const STORE_ALGORITHM = 'sha256';

/**
 * Validates a digest before it goes anywhere near a path: the distribution grammar, then
 * the one algorithm the store keeps. Returns the hex part.
 */
export function digestHex(digest: string): string {
  if (typeof digest !== 'string' || !isValidDigest(digest)) {
    throw new WardenError(
      'BLOB_DIGEST_INVALID',
      `digest "${String(digest).slice(0, 100)}" is not valid: expected sha256:<64 lowercase hex digits>`,
      { digest: String(digest).slice(0, 100) },
    );
  }
  const [algorithm, hex] = digest.split(':', 2);
  if (algorithm !== STORE_ALGORITHM) {
    throw new WardenError(
      'BLOB_DIGEST_INVALID',
      `digest algorithm "${algorithm}" is not supported; use sha256`,
      {
        digest,
      },
    );
  }
  return hex;
}
