/** Manifest media types Warden fetches and serves (OCI image-spec; Docker image manifest v2.2). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** The Accept list sent upstream: indexes first, so a multi-platform image arrives as one. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

export const isIndexType = (t: string) => t === OCI_INDEX || t === DOCKER_MANIFEST_LIST;

/**
 * A manifest's media type from its own bytes, for serving one from the store (where no
 * Content-Type was kept). OCI manifests may omit `mediaType`; then the shape decides
 * (image-spec manifest.md / image-index.md).
 */
export function manifestMediaType(bytes: Buffer): string | undefined {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || doc.schemaVersion !== 2) return undefined;
  if (typeof doc.mediaType === 'string' && MANIFEST_ACCEPT.includes(doc.mediaType)) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (typeof doc.config === 'object' && doc.config !== null) return OCI_MANIFEST;
  return undefined;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

interface IndexEntry {
  digest: string;
  mediaType?: string;
  size?: number;
  platform?: Partial<Platform>;
}

/**
 * The index entry for a platform (linux/amd64 unless told): exact variant first, then any
 * entry of that os/architecture. Attestation manifests (platform unknown/unknown) never match.
 */
export function selectPlatform(index: Buffer, want: Platform): IndexEntry | undefined {
  const doc = JSON.parse(index.toString('utf8')) as { manifests?: IndexEntry[] };
  const entries = (doc.manifests ?? []).filter(
    (m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture,
  );
  return (want.variant && entries.find((m) => m.platform?.variant === want.variant)) || entries[0];
}
