import { WardenError } from '../platform/errors';

/** `--log-driver`/`--log-opt` as the Engine API sends them (HostConfig.LogConfig). */
export interface DockerLogConfig {
  Type?: string;
  Config?: Record<string, string> | null;
}

/** Options of json-file that Warden does not apply: refused, never accepted and ignored. */
const UNAPPLIED_OPTS = new Set(['compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);

/**
 * HostConfig.LogConfig → the launch request's log fields (issue 15). json-file (the default,
 * written and rotated by the shim) and none are applied; any other driver, and any option but
 * max-size and max-file, is refused with what to do instead. Sizes stay as written (`10m`):
 * the spec parses them, so a bad one is a 400 naming the field.
 */
export function logRequestOf(lc: DockerLogConfig | null | undefined): {
  logDriver?: 'json-file' | 'none';
  logMaxSize?: string;
  logMaxFiles?: number;
} {
  const driver = lc?.Type || 'json-file';
  const opts = lc?.Config ?? {};
  if (driver !== 'json-file' && driver !== 'none')
    throw new WardenError(
      'VALIDATION_FAILED',
      `log driver '${driver}' is not available on Warden: it keeps container logs itself; use --log-driver json-file (rotated by --log-opt max-size/max-file) or none`,
    );
  // Only what the user asked: the CLI sends an empty Type when --log-driver is not given.
  const out: ReturnType<typeof logRequestOf> = lc?.Type ? { logDriver: driver } : {};
  for (const [k, v] of Object.entries(opts)) {
    if (driver === 'none')
      throw new WardenError(
        'VALIDATION_FAILED',
        `log opt '${k}' is not valid for the none log driver: it keeps nothing`,
      );
    if (k === 'max-size') out.logMaxSize = v;
    else if (k === 'max-file') {
      if (!/^\d+$/.test(v))
        throw new WardenError('VALIDATION_FAILED', `log opt max-file '${v}' must be a whole number of files`);
      out.logMaxFiles = Number(v);
    } else if (UNAPPLIED_OPTS.has(k))
      throw new WardenError(
        'VALIDATION_FAILED',
        `log opt '${k}' is not applied by Warden: leave it out (max-size and max-file are applied)`,
      );
    else throw new WardenError('VALIDATION_FAILED', `unknown log opt '${k}' for json-file log driver`);
  }
  return out;
}

/** `10m` for 10485760: how the CLI's user wrote it, as inspect shows it. */
function sizeText(bytes: number): string {
  for (const [unit, n] of [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const)
    if (bytes % n === 0) return `${bytes / n}${unit}`;
  return String(bytes);
}

/** HostConfig.LogConfig in inspect: the driver and the limits the shim applies. */
export function logConfigView(spec: { logDriver?: string; logMaxBytes?: number; logMaxFiles?: number }): {
  Type: string;
  Config: Record<string, string>;
} {
  if (spec.logDriver === 'none') return { Type: 'none', Config: {} };
  const config: Record<string, string> = {};
  if (spec.logMaxBytes !== undefined) config['max-size'] = sizeText(spec.logMaxBytes);
  if (spec.logMaxFiles !== undefined) config['max-file'] = String(spec.logMaxFiles);
  return { Type: 'json-file', Config: config };
}
