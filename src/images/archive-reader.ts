import { posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { WardenError } from '../platform/errors';
import type { FsBlobStore, StagedBlob } from './store';

/** Metadata files (index.json, manifest.json, configs) are read into memory; past this they are refused. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;
const METADATA_NAME = /(^|\/)(oci-layout|index\.json|manifest\.json|repositories|[^/]*\.json|json)$/;

/**
 * One pass over an uploaded archive. Blobs go straight to the store's staging area (hashed
 * as they stream, verified against their name when the name is a digest); small metadata
 * files stay in memory; links are remembered as aliases. Nothing becomes visible in the
 * store here: the caller commits what the image turns out to reference.
 */
export interface ArchiveContents {
  /** Staged blobs by digest. */
  blobs: Map<string, StagedBlob>;
  /** Archive path → digest of the staged blob holding its bytes (after aliases). */
  files: Map<string, string>;
  /** Metadata files' bytes by archive path. */
  metadata: Map<string, Buffer>;
  /** Stages bytes that did not come from the archive as such (a synthesized manifest). */
  stage(bytes: Buffer): Promise<StagedBlob>;
  discardAll(): Promise<void>;
}

export function invalidArchive(message: string, detail: Record<string, unknown> = {}): WardenError {
  return new WardenError('IMAGE_ARCHIVE_INVALID', `not a usable image archive: ${message}`, detail);
}

function normalize(name: string): string {
  const clean = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  return clean === '.' ? '' : clean.replace(/^\.\//, '');
}

/** Counts bytes and stops the upload at the cap, before a huge body fills the disk. */
export function byteCap(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) {
        cb(
          new WardenError(
            'IMAGE_ARCHIVE_TOO_LARGE',
            `archive exceeds the import limit of ${maxBytes} bytes`,
            {
              maxBytes,
            },
          ),
        );
      } else cb(null, chunk);
    },
  });
}

/** `docker save | gzip` is common; accept it by sniffing the gzip magic on the first chunk. */
export function gunzipIfNeeded(): Transform {
  let decided: Transform | undefined;
  let passthrough = false;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!decided && !passthrough) {
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          decided = createGunzip();
          decided.on('data', (d: Buffer) => out.push(d));
          decided.on('error', (e) => out.destroy(invalidArchive(`gzip stream is corrupt (${e.message})`)));
        } else passthrough = true;
      }
      if (passthrough) return cb(null, chunk);
      decided!.write(chunk, cb);
    },
    flush(cb) {
      if (!decided) return cb();
      decided.once('end', () => cb());
      decided.end();
    },
  });
  return out;
}

export async function readArchive(
  body: Readable,
  store: FsBlobStore,
  opts: { maxBytes: number },
): Promise<ArchiveContents> {
  const blobs = new Map<string, StagedBlob>();
  const files = new Map<string, string>();
  const metadata = new Map<string, Buffer>();
  const aliases = new Map<string, string>();
  const keep = async (staged: StagedBlob) => {
    const had = blobs.get(staged.digest);
    if (had) await staged.discard();
    else blobs.set(staged.digest, staged);
    return had ?? staged;
  };
  const contents: ArchiveContents = {
    blobs,
    files,
    metadata,
    stage: async (bytes) => keep(await store.stage(bytes)),
    discardAll: async () => {
      await Promise.all([...blobs.values()].map((b) => b.discard()));
    },
  };

  const extract = tar.extract();
  const feeding = pipeline([body, byteCap(opts.maxBytes), gunzipIfNeeded(), extract] as unknown as [
    Readable,
    Transform,
  ]);
  feeding.catch(() => undefined); // awaited below; this keeps an early failure from being unhandled
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = normalize(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname) : h.linkname;
        aliases.set(name, normalize(target));
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        const asBlob = BLOB_PATH.exec(name);
        if (!asBlob && METADATA_NAME.test(name)) {
          if (h.size > MAX_METADATA_BYTES)
            throw invalidArchive(
              `'${name}' is ${h.size} bytes; metadata files are at most ${MAX_METADATA_BYTES}`,
            );
          const parts: Buffer[] = [];
          for await (const c of entry) parts.push(c as Buffer);
          metadata.set(name, Buffer.concat(parts));
        } else {
          const expectedDigest = asBlob ? `sha256:${asBlob[1]}` : undefined;
          const staged = await store
            .stage(entry as unknown as AsyncIterable<Buffer>, { expectedDigest })
            .catch((err: unknown) => {
              if (err instanceof WardenError && err.code === 'BLOB_DIGEST_MISMATCH')
                throw invalidArchive(
                  `'${name}' does not hash to the digest it is named after: ${err.message}`,
                  err.detail,
                );
              throw err;
            });
          files.set(name, (await keep(staged)).digest);
        }
      }
      entry.resume();
    }
    await feeding;
  } catch (err) {
    body.destroy();
    extract.destroy();
    await contents.discardAll();
    await feeding.catch(() => undefined);
    if (err instanceof WardenError) throw err;
    throw new WardenError(
      'IMAGE_ARCHIVE_INVALID',
      `not a usable image archive: the tar stream could not be read (${(err as Error).message})`,
      {},
      { cause: err },
    );
  }
  // Links resolve to what they point at (docker save links repeated layers to one copy).
  for (const [name, target] of aliases) {
    let t = target;
    for (let hops = 0; hops < 8 && aliases.has(t); hops++) t = aliases.get(t)!;
    const digest = files.get(t);
    if (digest) files.set(name, digest);
    const meta = metadata.get(t);
    if (meta) metadata.set(name, meta);
  }
  return contents;
}
