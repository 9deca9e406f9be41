import { WardenError } from '../../platform/errors';
import type { StagedBlob } from '../store';
import type { ParsedImage, ParsedLayer } from '../archive-images';
import { hostPlatform, imageConfigSchema, MEDIA_TYPES, parseDocument } from '../image-manifest';
import type { ImageTag } from '../image.repository';
import { applyChanges, ContainerConfig } from './image-changes';

/** What an image made here (`docker import`, `docker commit`) is built from. */
export interface NewImageInput {
  /** The image it builds on (commit): its config file as stored and its layers. */
  base?: { config: Record<string, unknown>; layers: ParsedLayer[] };
  /** The new layer: an uncompressed tar, so its digest is its diff_id. */
  layer: StagedBlob;
  changes: readonly string[];
  /** The history entry's `created_by` (Docker: `import` for import, the command for commit). */
  createdBy: string;
  comment?: string;
  author?: string;
  tags: ImageTag[];
  now?: Date;
}

/** tar(5): "ustar" at offset 257 of the first header (POSIX and GNU tars alike). */
export function looksLikeTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * The config and manifest of a one-more-layer image, staged. The config keeps every field of
 * the base's (fields Warden does not read included), with `--change`s applied to its
 * `config`, the layer's diff_id appended and a history entry for it; the manifest is OCI's.
 */
export async function newImage(
  input: NewImageInput,
  stage: (bytes: Buffer) => Promise<StagedBlob>,
): Promise<ParsedImage> {
  const now = (input.now ?? new Date()).toISOString();
  const base = input.base?.config ?? { ...hostPlatform(), config: {} };
  const baseRootfs = (base.rootfs ?? { diff_ids: [] }) as { diff_ids: string[] };
  const history = Array.isArray(base.history) ? (base.history as unknown[]) : [];
  const configFile: Record<string, unknown> = {
    ...base,
    created: now,
    ...(input.author !== undefined ? { author: input.author } : {}),
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
    config: applyChanges((base.config ?? {}) as ContainerConfig, input.changes),
    rootfs: { type: 'layers', diff_ids: [...baseRootfs.diff_ids, input.layer.digest] },
    history: [
      ...history,
      {
        created: now,
        created_by: input.createdBy,
        ...(input.author ? { author: input.author } : {}),
        ...(input.comment ? { comment: input.comment } : {}),
      },
    ],
  };
  delete configFile.container;
  delete configFile.container_config;
  const configBytes = Buffer.from(JSON.stringify(configFile));
  const parsed = parseDocument(imageConfigSchema, configBytes, 'the new image config');
  if (!parsed.ok) throw new WardenError('IMAGE_ARCHIVE_INVALID', parsed.error);
  const config = await stage(configBytes);
  const layers: ParsedLayer[] = [
    ...(input.base?.layers ?? []),
    {
      digest: input.layer.digest,
      diffId: input.layer.digest,
      mediaType: MEDIA_TYPES.ociLayer,
      size: input.layer.size,
    },
  ];
  const manifest = await stage(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
  );
  return {
    manifestDigest: manifest.digest,
    manifestMediaType: MEDIA_TYPES.ociManifest,
    manifestSize: manifest.size,
    configDigest: config.digest,
    configSize: config.size,
    config: parsed.value,
    layers,
    tags: input.tags.map((t) => ({ ...t })),
  };
}
