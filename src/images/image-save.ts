import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { WardenError } from '../platform/errors';
import { addTarEntry } from '../platform/streams';
import type { ImageRecord } from './image.repository';
import { MEDIA_TYPES } from './image-manifest';
import { formatImageReference } from './reference/image-reference';
import type { BlobReader } from './store';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const hexOf = (digest: string) => digest.slice('sha256:'.length);

/** One image to save and the names it goes under (none: saved by id, loads untagged). */
export interface SavedImage {
  image: ImageRecord;
  names: Array<{ registry: string; repository: string; tag: string }>;
}

/**
 * `docker save` as Docker 25+ writes it: an OCI image layout (oci-layout, index.json,
 * blobs/sha256/…) with docker's manifest.json beside it, so both `docker load` and OCI tools
 * read it. Blobs are the stored bytes, unchanged: the manifest digest survives a save and a
 * load. Each blob is written once even when several images share it.
 */
export async function writeSaveArchive(
  out: Writable,
  images: SavedImage[],
  store: BlobReader,
): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, out);
  done.catch(() => undefined); // awaited below
  const mtime = new Date(0);
  const put = (name: string, body: Buffer) => addTarEntry(pack, { name, mtime, mode: 0o644 }, body);
  try {
    for (const name of ['blobs/', 'blobs/sha256/'])
      await addTarEntry(pack, { name, type: 'directory', mtime, mode: 0o755 });
    const sizes = new Map<string, number>();
    for (const { image } of images) {
      for (const digest of [image.digest, image.configDigest, ...image.layers.map((l) => l.digest)]) {
        if (sizes.has(digest)) continue;
        const info = await store.stat(digest);
        if (!info)
          throw new WardenError(
            'BLOB_NOT_FOUND',
            `blob ${digest} of image ${image.digest} is not in the store`,
            {
              digest,
            },
          );
        sizes.set(digest, info.size);
        await addTarEntry(
          pack,
          { name: `blobs/sha256/${hexOf(digest)}`, size: info.size, mtime, mode: 0o644 },
          await store.open(digest),
        );
      }
    }
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: images.flatMap(({ image, names }) => {
        const d = { mediaType: image.mediaType, digest: image.digest, size: sizes.get(image.digest)! };
        if (names.length === 0) return [d];
        return names.map((n) => ({
          ...d,
          annotations: { [CONTAINERD_NAME]: formatImageReference(n), [REF_NAME]: n.tag },
        }));
      }),
    };
    const manifest = images.map(({ image, names }) => ({
      Config: `blobs/sha256/${hexOf(image.configDigest)}`,
      RepoTags: names.map((n) => formatImageReference(n)),
      Layers: image.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    }));
    await put('index.json', Buffer.from(JSON.stringify(index)));
    await put('manifest.json', Buffer.from(JSON.stringify(manifest)));
    await put('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  await done;
}
