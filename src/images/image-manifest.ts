import { z } from 'zod';
import { isValidDigest } from './reference/image-reference';

/**
 * The JSON documents an image is made of, as much of them as Warden reads. Unknown fields
 * are allowed (the specs say consumers must ignore them); what is read is checked.
 * OCI image-spec: manifest.md, image-index.md, config.md; Docker image manifest v2.2.
 */
export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];

/** Layer types Warden can unpack: plain or gzip tars, OCI or Docker naming, distributable or not. */
export function isLayerMediaType(mediaType: string): boolean {
  return /^application\/vnd\.(oci\.image\.layer(\.nondistributable)?\.v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs\.(foreign\.)?diff\.tar(\.gzip)?)$/.test(
    mediaType,
  );
}

const digest = z.string().refine(isValidDigest, 'must be a digest like sha256:<64 hex digits>');

export const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

export const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
});
export type ImageIndex = z.infer<typeof indexSchema>;

const stringList = z.array(z.string()).nullish();

export const imageConfigSchema = z.object({
  created: z.string().optional(),
  architecture: z.string().min(1),
  os: z.string().min(1),
  variant: z.string().optional(),
  config: z
    .object({
      Env: stringList,
      Cmd: stringList,
      Entrypoint: stringList,
      WorkingDir: z.string().nullish(),
      User: z.string().nullish(),
      Labels: z.record(z.string(), z.string()).nullish(),
      // `VOLUME /data`: each key is a path that gets an anonymous volume (values are {}).
      Volumes: z.record(z.string(), z.unknown()).nullish(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
      // `HEALTHCHECK`: durations in nanoseconds.
      Healthcheck: z
        .looseObject({
          Test: stringList,
          Interval: z.number().nullish(),
          Timeout: z.number().nullish(),
          StartPeriod: z.number().nullish(),
          StartInterval: z.number().nullish(),
          Retries: z.number().nullish(),
        })
        .nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digest) }),
});
export type ImageConfigFile = z.infer<typeof imageConfigSchema>;

/** `docker save`'s manifest.json: one entry per image, paths inside the archive. */
export const dockerSaveManifestSchema = z.array(
  z.object({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string().min(1)),
  }),
);

/** The part of the config a container is started from; stored with the image. */
export interface RuntimeConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  WorkingDir: string;
  User: string;
  Labels: Record<string, string>;
  /** Absent on images stored before it was kept. */
  Volumes?: string[];
  /** Its EXPOSE ports as Docker keys them (`80/tcp`); absent on images stored before it was kept. */
  ExposedPorts?: string[];
  /** The image's HEALTHCHECK (Docker's HealthConfig); absent when it has none. */
  Healthcheck?: ImageHealthcheck;
}

/** Docker's HealthConfig as an image config carries it (durations in nanoseconds). */
export interface ImageHealthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export function runtimeConfigOf(config: ImageConfigFile): RuntimeConfig {
  const c = config.config ?? {};
  return {
    Env: c.Env ?? [],
    Cmd: c.Cmd ?? null,
    Entrypoint: c.Entrypoint ?? null,
    WorkingDir: c.WorkingDir ?? '',
    User: c.User ?? '',
    Labels: c.Labels ?? {},
    Volumes: Object.keys(c.Volumes ?? {}),
    ...(c.ExposedPorts && Object.keys(c.ExposedPorts).length
      ? { ExposedPorts: Object.keys(c.ExposedPorts) }
      : {}),
    ...(c.Healthcheck?.Test?.length ? { Healthcheck: healthcheckOf(c.Healthcheck) } : {}),
  };
}

function healthcheckOf(
  h: NonNullable<NonNullable<ImageConfigFile['config']>['Healthcheck']>,
): ImageHealthcheck {
  const out: ImageHealthcheck = { Test: h.Test ?? [] };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const v = h[k];
    if (typeof v === 'number' && v > 0) out[k] = v;
  }
  return out;
}

/** Parses JSON and checks it against a schema; `what` names the document in the error. */
export function parseDocument<S extends z.ZodType>(
  schema: S,
  bytes: Buffer,
  what: string,
): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `${what} is not valid JSON (${(err as Error).message})` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`);
  return { ok: false, error: `${what} is not valid: ${problems.slice(0, 5).join('; ')}` };
}

/** Go's GOARCH for this host: the platform picked from a multi-platform index. */
export function hostPlatform(): { os: string; architecture: string } {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}
