import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { WardenError } from '../../platform/errors';
import { BlobInfo, BlobStore, ByteRange, digestHex, PutOptions, STORE_ALGORITHM } from './blob-store';

/** Bytes of a blob's start kept on a staged blob, enough to sniff gzip, zstd or a tar header. */
const HEAD_BYTES = 512;
const TEMP_PREFIX = '.tmp-';

/** Written and verified, not yet visible under its digest: `commit` makes it so, `discard` drops it. */
export interface StagedBlob extends BlobInfo {
  /** The first bytes, for sniffing the format without reading the blob again. */
  head: Buffer;
  /** The staged bytes, for small documents (manifests, configs) that must be parsed before commit. */
  read(): Promise<Buffer>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

const isErrno = (err: unknown, code: string) => (err as NodeJS.ErrnoException)?.code === code;

/**
 * `<root>/blobs/sha256/<hex>`, the layout of an OCI image layout's blobs dir. Bytes go to a
 * temp file in the same directory (so the rename is atomic: same filesystem), are hashed as
 * they are written, fsynced, and renamed into place only once the digest verifies. A reader
 * therefore sees a complete, verified blob or none; two writers of one digest each rename
 * identical bytes over the other, which is harmless.
 */
export class FsBlobStore implements BlobStore {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'blobs', STORE_ALGORITHM);
  }

  /** Where a blob lives (or would live). Throws on an invalid digest before building any path. */
  path(digest: string): string {
    return join(this.dir, digestHex(digest));
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.path(digest));
      return s.isFile() ? { digest, size: s.size } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async open(digest: string, range?: ByteRange): Promise<Readable> {
    const info = await this.stat(digest);
    if (!info) throw new WardenError('BLOB_NOT_FOUND', `blob ${digest} is not in the store`, { digest });
    if (range) {
      const end = range.end ?? info.size - 1;
      if (!(range.start >= 0 && range.start <= end && end < info.size)) {
        throw new WardenError(
          'BLOB_RANGE_NOT_SATISFIABLE',
          `range ${range.start}-${range.end ?? ''} is outside blob ${digest} of ${info.size} bytes`,
          { digest, size: info.size, start: range.start, end: range.end },
        );
      }
      return createReadStream(this.path(digest), { start: range.start, end });
    }
    return createReadStream(this.path(digest));
  }

  async put(source: Readable | AsyncIterable<Buffer> | Buffer, opts: PutOptions = {}): Promise<BlobInfo> {
    const staged = await this.stage(source, opts);
    await staged.commit();
    return { digest: staged.digest, size: staged.size };
  }

  /**
   * Writes and verifies without publishing. An import stages every blob of an archive,
   * checks the whole image, and only then commits: a bad archive never adds a blob.
   */
  async stage(source: Readable | AsyncIterable<Buffer> | Buffer, opts: PutOptions = {}): Promise<StagedBlob> {
    if (opts.expectedDigest !== undefined) digestHex(opts.expectedDigest);
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size = 0;
    const head: Buffer[] = [];
    let headLength = 0;
    try {
      for await (const data of Buffer.isBuffer(source) ? [source] : source) {
        const chunk = data as Buffer;
        size += chunk.length;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) {
          throw new WardenError('BLOB_TOO_LARGE', `blob exceeds the limit of ${opts.maxBytes} bytes`, {
            maxBytes: opts.maxBytes,
            expectedDigest: opts.expectedDigest,
          });
        }
        if (headLength < HEAD_BYTES) {
          head.push(chunk.subarray(0, HEAD_BYTES - headLength));
          headLength += head[head.length - 1].length;
        }
        hash.update(chunk);
        for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off)).bytesWritten;
      }
      // Durable before it can become visible: a crash after the rename must not expose a
      // blob whose bytes never reached the disk.
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();

    const digest = `${STORE_ALGORITHM}:${hash.digest('hex')}`;
    const fail = (code: 'BLOB_DIGEST_MISMATCH', message: string, detail: Record<string, unknown>) =>
      rm(tmp, { force: true }).then(() => {
        throw new WardenError(code, message, detail);
      });
    if (opts.expectedDigest !== undefined && digest !== opts.expectedDigest) {
      await fail(
        'BLOB_DIGEST_MISMATCH',
        `content does not match its digest: expected ${opts.expectedDigest}, got ${digest}`,
        { expected: opts.expectedDigest, actual: digest, size },
      );
    }
    if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
      await fail(
        'BLOB_DIGEST_MISMATCH',
        `blob ${digest} is ${size} bytes, but ${opts.expectedSize} were expected`,
        { digest, expectedSize: opts.expectedSize, actualSize: size },
      );
    }

    let settled = false;
    return {
      digest,
      size,
      head: Buffer.concat(head),
      read: () =>
        settled ? Promise.reject(new Error(`staged blob ${digest} is already settled`)) : readFile(tmp),
      commit: async () => {
        if (settled) return;
        settled = true;
        await rename(tmp, this.path(digest));
        await this.syncDir();
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await rm(tmp, { force: true });
      },
    };
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Every stored digest (temp files excluded); for garbage collection and tests. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir))
        .filter((n) => !n.startsWith(TEMP_PREFIX))
        .map((hex) => `${STORE_ALGORITHM}:${hex}`);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  /** Removes temp files a crashed writer left behind; only old ones, so live writers keep theirs. */
  async sweepTemp(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
      const p = join(this.dir, name);
      const s = await stat(p).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > olderThanMs) {
        await rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** fsync the directory so the rename itself survives a crash (ext4 data=ordered does not promise it). */
  private async syncDir(): Promise<void> {
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}
