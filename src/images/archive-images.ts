import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { ImageReference, parseImageReference } from './reference/image-reference';
import { ArchiveContents, invalidArchive } from './archive-reader';
import {
  Descriptor,
  dockerSaveManifestSchema,
  hostPlatform,
  ImageConfigFile,
  imageConfigSchema,
  indexSchema,
  INDEX_TYPES,
  isLayerMediaType,
  MANIFEST_TYPES,
  manifestSchema,
  MEDIA_TYPES,
  parseDocument,
} from './image-manifest';

export type ArchiveFormat = 'oci-archive' | 'docker-save';

export interface ParsedLayer {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

export interface ParsedImage {
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
  configDigest: string;
  configSize: number;
  config: ImageConfigFile;
  layers: ParsedLayer[];
  tags: Array<ImageReference & { tag: string }>;
}

const MAX_DOCUMENT = 4 * 1024 * 1024;
// image-layout.md: the version is all the file holds; its presence makes a tree an OCI layout.
const ociLayoutSchema = z.object({ imageLayoutVersion: z.string() });
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Reads an archive's images: its OCI index (oci-archive, and docker save since v25) or docker save's manifest.json. */
export async function resolveImages(
  c: ArchiveContents,
): Promise<{ format: ArchiveFormat; images: ParsedImage[] }> {
  if (c.metadata.has('oci-layout') && c.metadata.has('index.json')) {
    return { format: 'oci-archive', images: await fromOciIndex(c) };
  }
  if (c.metadata.has('manifest.json')) return { format: 'docker-save', images: await fromDockerSave(c) };
  throw invalidArchive(
    'found neither oci-layout + index.json (an OCI layout or oci-archive) nor manifest.json (docker save)',
  );
}

function parse<S extends z.ZodType>(schema: S, bytes: Buffer, what: string): z.infer<S> {
  const r = parseDocument(schema, bytes, what);
  if (!r.ok) throw invalidArchive(r.error);
  return r.value;
}

/** A blob's bytes, checked against its descriptor, for documents that must be parsed. */
async function documentBytes(c: ArchiveContents, d: Pick<Descriptor, 'digest' | 'size'>, what: string) {
  const blob = c.blobs.get(d.digest);
  if (!blob) throw invalidArchive(`${what} ${d.digest} is not in the archive`, { digest: d.digest });
  if (blob.size !== d.size)
    throw invalidArchive(`${what} ${d.digest} is ${blob.size} bytes, but its descriptor says ${d.size}`);
  if (blob.size > MAX_DOCUMENT) throw invalidArchive(`${what} ${d.digest} is ${blob.size} bytes; too large`);
  return blob.read();
}

function parseTag(text: string, where: string): ImageReference & { tag: string } {
  const r = parseImageReference(text);
  if (!r.ok) throw invalidArchive(`${where} names ${r.error}`);
  if (r.ref.digest)
    throw invalidArchive(`${where} names "${text}", which has a digest; an image name needs a tag`);
  return { registry: r.ref.registry, repository: r.ref.repository, tag: r.ref.tag ?? 'latest' };
}

async function fromOciIndex(c: ArchiveContents): Promise<ParsedImage[]> {
  parse(ociLayoutSchema, c.metadata.get('oci-layout')!, 'oci-layout');
  const index = parse(indexSchema, c.metadata.get('index.json')!, 'index.json');
  if (index.manifests.length === 0) throw invalidArchive('index.json lists no images');

  // docker save (v25+) keeps its RepoTags in manifest.json next to the OCI index.
  const repoTags = new Map<string, string[]>();
  const saved = c.metadata.get('manifest.json');
  if (saved) {
    for (const e of parse(dockerSaveManifestSchema, saved, 'manifest.json')) {
      const digest = c.files.get(posix.normalize(e.Config));
      if (digest) repoTags.set(digest, [...(repoTags.get(digest) ?? []), ...(e.RepoTags ?? [])]);
    }
  }

  const images = new Map<string, ParsedImage>();
  for (const top of index.manifests) {
    const d = await pickManifest(c, top, 0);
    const image = images.get(d.digest) ?? (await fromManifest(c, d));
    images.set(d.digest, image);
    const name = top.annotations?.[CONTAINERD_NAME] ?? top.annotations?.[REF_NAME];
    // A bare ref.name ("latest") is a tag with no repository: nothing to name the image by.
    if (name && /[:/]/.test(name)) image.tags.push(parseTag(name, `index.json annotation "${name}"`));
    for (const t of repoTags.get(image.configDigest) ?? [])
      image.tags.push(parseTag(t, `manifest.json RepoTag`));
  }
  return [...images.values()];
}

/** An index entry may itself be an index (multi-platform): take the host's platform from it. */
async function pickManifest(c: ArchiveContents, d: Descriptor, depth: number): Promise<Descriptor> {
  if (MANIFEST_TYPES.includes(d.mediaType)) return d;
  if (!INDEX_TYPES.includes(d.mediaType))
    throw invalidArchive(`index entry ${d.digest} has media type ${d.mediaType}, which is not an image`);
  if (depth > 2) throw invalidArchive(`image indexes nest too deep at ${d.digest}`);
  const nested = parse(indexSchema, await documentBytes(c, d, 'image index'), `image index ${d.digest}`);
  const want = hostPlatform();
  const match = nested.manifests.find(
    (m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture,
  );
  if (!match) {
    const offered = nested.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ');
    throw invalidArchive(
      `image index ${d.digest} has no ${want.os}/${want.architecture} image (it has: ${offered})`,
    );
  }
  return pickManifest(c, match, depth + 1);
}

async function fromManifest(c: ArchiveContents, d: Descriptor): Promise<ParsedImage> {
  const manifest = parse(manifestSchema, await documentBytes(c, d, 'manifest'), `manifest ${d.digest}`);
  const configBytes = await documentBytes(c, manifest.config, 'image config');
  const config = parse(imageConfigSchema, configBytes, `image config ${manifest.config.digest}`);
  const layers = manifest.layers.map((l, i): ParsedLayer => {
    if (!isLayerMediaType(l.mediaType))
      throw invalidArchive(
        `layer ${i} (${l.digest}) has media type ${l.mediaType}, which is not a layer Warden can unpack`,
      );
    const blob = c.blobs.get(l.digest);
    if (!blob) throw invalidArchive(`layer ${i} (${l.digest}) is not in the archive`, { digest: l.digest });
    if (blob.size !== l.size)
      throw invalidArchive(`layer ${i} (${l.digest}) is ${blob.size} bytes, but the manifest says ${l.size}`);
    return { digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i] };
  });
  return checked({
    manifestDigest: d.digest,
    manifestMediaType: manifest.mediaType ?? d.mediaType,
    manifestSize: d.size,
    configDigest: manifest.config.digest,
    configSize: manifest.config.size,
    config,
    layers,
    tags: [],
  });
}

function checked(image: ParsedImage): ParsedImage {
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.layers.length) {
    throw invalidArchive(
      `image ${image.manifestDigest} has ${image.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
    );
  }
  for (const [i, l] of image.layers.entries()) {
    // An uncompressed layer's digest is its diff_id; checking costs nothing. Compressed ones are checked at unpack.
    if (/tar$/.test(l.mediaType) && l.digest !== l.diffId)
      throw invalidArchive(
        `layer ${i} (${l.digest}) is an uncompressed tar, but the config's diff_id is ${l.diffId}`,
      );
  }
  return image;
}

/** Sniffs how a docker-save layer is stored, since manifest.json does not say. */
function layerMediaType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA_TYPES.ociLayerGzip;
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MEDIA_TYPES.ociLayerZstd;
  return MEDIA_TYPES.ociLayer;
}

/**
 * docker save: configs and layers by path. The OCI manifest Warden stores is synthesized
 * from them, layers kept exactly as they are in the archive (so their digests stay valid).
 */
async function fromDockerSave(c: ArchiveContents): Promise<ParsedImage[]> {
  const entries = parse(dockerSaveManifestSchema, c.metadata.get('manifest.json')!, 'manifest.json');
  if (entries.length === 0) throw invalidArchive('manifest.json lists no images');
  const images: ParsedImage[] = [];
  for (const [n, e] of entries.entries()) {
    const configPath = posix.normalize(e.Config);
    const fromMeta = c.metadata.get(configPath);
    const configDigestInFiles = c.files.get(configPath);
    let configBytes: Buffer;
    if (fromMeta) configBytes = fromMeta;
    else if (configDigestInFiles)
      configBytes = await documentBytes(
        c,
        { digest: configDigestInFiles, size: c.blobs.get(configDigestInFiles)!.size },
        'image config',
      );
    else
      throw invalidArchive(
        `manifest.json entry ${n} names config '${e.Config}', which is not in the archive`,
      );
    const config = parse(imageConfigSchema, configBytes, `image config '${e.Config}'`);
    const configBlob = c.blobs.get(sha256(configBytes)) ?? (await c.stage(configBytes));

    const layers = e.Layers.map((p, i): ParsedLayer => {
      const digest = c.files.get(posix.normalize(p));
      if (!digest)
        throw invalidArchive(`manifest.json entry ${n} lists layer '${p}', which is not in the archive`);
      const blob = c.blobs.get(digest)!;
      return {
        digest,
        mediaType: layerMediaType(blob.head),
        size: blob.size,
        diffId: config.rootfs.diff_ids[i],
      };
    });
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifestBlob = await c.stage(Buffer.from(JSON.stringify(manifest)));
    images.push(
      checked({
        manifestDigest: manifestBlob.digest,
        manifestMediaType: MEDIA_TYPES.ociManifest,
        manifestSize: manifestBlob.size,
        configDigest: configBlob.digest,
        configSize: configBlob.size,
        config,
        layers: layers.map((l, i) => ({ ...l, diffId: config.rootfs.diff_ids[i] })),
        tags: (e.RepoTags ?? []).map((t) => parseTag(t, `manifest.json RepoTag "${t}"`)),
      }),
    );
  }
  return images;
}

/** Every blob an image consists of: what an import commits and a removal may delete. */
export function blobsOf(image: ParsedImage): string[] {
  return [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)];
}
