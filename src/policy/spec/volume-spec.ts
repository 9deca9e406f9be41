import { formatBytes, parseByteSize } from './units';

/**
 * A volume as the policy judges it (issue 17): its driver and driver options, and the size
 * the options ask for. Every surface that creates a volume — `POST /volumes/create`, REST,
 * a `docker run -v name:/x` that names one not there yet, an image's anonymous `VOLUME` —
 * turns its request into this first.
 */
export interface VolumeSpec {
  name: string;
  driver: string;
  /** Driver options other than `size` (kept as given: the policy lists which may be used). */
  options: Record<string, string>;
  labels: Record<string, string>;
  /** From `--opt size=`, or the policy's default. */
  sizeBytes?: number;
}

/** Docker's rule for volume names (daemon/names: RestrictedNamePattern). */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export type ToVolumeSpecResult = { ok: true; spec: VolumeSpec } | { ok: false; errors: string[] };

/** The smallest sized volume: ext4 needs room for its own metadata and journal. */
export const MIN_VOLUME_SIZE = 8 * 1024 ** 2;

export function toVolumeSpec(input: {
  name: string;
  driver?: string;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}): ToVolumeSpecResult {
  const errors: string[] = [];
  if (!VOLUME_NAME_RE.test(input.name))
    errors.push(
      `name: ${JSON.stringify(input.name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`,
    );
  const options: Record<string, string> = {};
  let sizeBytes: number | undefined;
  for (const [key, value] of Object.entries(input.options ?? {})) {
    if (key !== 'size') {
      options[key] = value;
      continue;
    }
    const bytes = parseByteSize(value);
    if (bytes === undefined || !Number.isInteger(bytes) || bytes <= 0)
      errors.push(`options.size: ${JSON.stringify(value)} is not a size such as 64m or 1g`);
    else if (bytes < MIN_VOLUME_SIZE)
      errors.push(`options.size: ${formatBytes(bytes)} is below the minimum ${formatBytes(MIN_VOLUME_SIZE)}`);
    else sizeBytes = bytes;
  }
  if (errors.length) return { ok: false, errors };
  const spec: VolumeSpec = {
    name: input.name,
    driver: input.driver || 'local',
    options,
    labels: input.labels ?? {},
  };
  if (sizeBytes !== undefined) spec.sizeBytes = sizeBytes;
  return { ok: true, spec };
}
