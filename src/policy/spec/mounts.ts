import { posix } from 'node:path';
import { z } from 'zod';
import { formatBytes, parseByteSize } from './units';

/**
 * Mount syntax as `docker run -v / --tmpfs / --device` users write it, parsed into plain
 * objects. Each parser returns the mount or a message; the caller prefixes the field.
 */
export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** A volume in a container: named, or anonymous (`name` '': one is made for the container). */
export interface VolumeMount {
  name: string;
  target: string;
  readOnly: boolean;
  /** Docker's `nocopy`: the image's files at the target are not copied into an empty volume. */
  noCopy: boolean;
}

export interface TmpfsMount {
  target: string;
  sizeBytes?: number;
  /** Validated mount flags other than size (rw, noexec, mode=1777, ...). */
  options: string[];
}

export interface DeviceMapping {
  hostPath: string;
  containerPath: string;
  /** subset of "rwm" (device cgroup access) */
  permissions: string;
}

export const bindInputSchema = z.union(
  [z.string(), z.strictObject({ source: z.string(), target: z.string(), readOnly: z.boolean().optional() })],
  { error: 'must be "/host:/container[:ro]" or {source, target, readOnly}' },
);
export const volumeInputSchema = z.union(
  [
    z.string(),
    z.strictObject({
      source: z.string().optional(),
      target: z.string(),
      readOnly: z.boolean().optional(),
      noCopy: z.boolean().optional(),
    }),
  ],
  {
    error:
      'must be "name:/container/path[:ro][,nocopy]", "/container/path" or {source, target, readOnly, noCopy}',
  },
);
export const tmpfsInputSchema = z.union(
  [z.string(), z.strictObject({ target: z.string(), size: z.union([z.number(), z.string()]).optional() })],
  { error: 'must be "/path[:size=64m]" or {target, size}' },
);
export const deviceInputSchema = z.union(
  [
    z.string(),
    z.strictObject({
      hostPath: z.string(),
      containerPath: z.string().optional(),
      permissions: z.string().optional(),
    }),
  ],
  { error: 'must be "/dev/x[:/dev/y[:rwm]]" or {hostPath, containerPath, permissions}' },
);
export type BindInput = z.infer<typeof bindInputSchema>;
export type TmpfsInput = z.infer<typeof tmpfsInputSchema>;
export type VolumeInput = z.infer<typeof volumeInputSchema>;
export type DeviceInput = z.infer<typeof deviceInputSchema>;

function badPath(what: string, p: string): string | undefined {
  if (!p.startsWith('/')) return `${what} ${JSON.stringify(p)} must be an absolute path`;
  if (p.includes('\0')) return `${what} ${JSON.stringify(p)} contains a NUL byte`;
  return undefined;
}

export function parseBind(input: BindInput): BindMount | string {
  let source: string;
  let target: string;
  let readOnly = false;
  if (typeof input === 'string') {
    const parts = input.split(':');
    if (parts.length < 2 || parts.length > 3)
      return `${JSON.stringify(input)} must be /host/path:/container/path[:ro]`;
    [source, target] = parts;
    for (const opt of parts[2] ? parts[2].split(',') : []) {
      if (opt === 'ro') readOnly = true;
      else if (opt !== 'rw')
        return `option ${JSON.stringify(opt)} in ${JSON.stringify(input)} is not supported (use ro or rw)`;
    }
  } else {
    ({ source, target } = input);
    readOnly = input.readOnly ?? false;
  }
  if (source !== '' && !source.startsWith('/'))
    return `source ${JSON.stringify(source)} looks like a named volume; Warden only binds absolute host paths`;
  const problem = badPath('source', source) ?? badPath('target', target);
  if (problem) return problem;
  const normalTarget = posix.normalize(target);
  if (normalTarget === '/') return 'target / would replace the container root filesystem';
  return { source, target: normalTarget.replace(/\/$/, ''), readOnly };
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `-v name:/path[:ro][,nocopy]`, `-v /path` (anonymous) or `--mount type=volume` as an object. */
export function parseVolume(input: VolumeInput): VolumeMount | string {
  let name = '';
  let target: string;
  let readOnly = false;
  let noCopy = false;
  if (typeof input === 'string') {
    const parts = input.split(':');
    if (parts.length > 3) return `${JSON.stringify(input)} must be name:/container/path[:ro]`;
    if (parts.length === 1) target = parts[0];
    else [name, target] = parts;
    for (const opt of parts[2] ? parts[2].split(',') : []) {
      if (opt === 'ro') readOnly = true;
      else if (opt === 'nocopy') noCopy = true;
      else if (opt !== 'rw')
        return `option ${JSON.stringify(opt)} in ${JSON.stringify(input)} is not supported (use ro, rw or nocopy)`;
    }
  } else {
    name = input.source ?? '';
    target = input.target;
    readOnly = input.readOnly ?? false;
    noCopy = input.noCopy ?? false;
  }
  if (name !== '' && !VOLUME_NAME.test(name))
    return `volume name ${JSON.stringify(name)} must be [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a host path starts with /)`;
  const problem = badPath('target', target);
  if (problem) return problem;
  const normalTarget = posix.normalize(target);
  if (normalTarget === '/') return 'target / would replace the container root filesystem';
  return { name, target: normalTarget.replace(/\/$/, ''), readOnly, noCopy };
}

const TMPFS_FLAGS = new Set(['rw', 'ro', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev']);

export function parseTmpfs(input: TmpfsInput): TmpfsMount | string {
  const raw = typeof input === 'string' ? input : input.target;
  const colon = raw.indexOf(':');
  const target = colon >= 0 ? raw.slice(0, colon) : raw;
  const problem = badPath('target', target);
  if (problem) return problem;
  const mount: TmpfsMount = { target: posix.normalize(target).replace(/(.)\/$/, '$1'), options: [] };
  if (mount.target === '/') return 'target / would replace the container root filesystem';

  let size: string | number | undefined = typeof input === 'string' ? undefined : input.size;
  for (const opt of colon >= 0 ? raw.slice(colon + 1).split(',') : []) {
    if (opt.startsWith('size=')) size = opt.slice('size='.length);
    else if (/^mode=[0-7]{3,4}$/.test(opt) || TMPFS_FLAGS.has(opt)) mount.options.push(opt);
    else
      return `option ${JSON.stringify(opt)} is not a tmpfs option Warden supports (size=, mode=, rw, noexec, ...)`;
  }
  if (size !== undefined) {
    const bytes = parseByteSize(size);
    if (bytes === undefined || bytes <= 0)
      return `size ${JSON.stringify(size)} must be a positive size such as 64m`;
    if (bytes > 1024 ** 5) return `size ${formatBytes(bytes)} is larger than any host`;
    mount.sizeBytes = bytes;
  }
  return mount;
}

export function parseDevice(input: DeviceInput): DeviceMapping | string {
  let hostPath: string;
  let containerPath: string | undefined;
  let permissions: string | undefined;
  if (typeof input === 'string') {
    const parts = input.split(':');
    if (parts.length > 3) return `${JSON.stringify(input)} must be /dev/host[:/dev/container[:rwm]]`;
    [hostPath, containerPath, permissions] = parts;
    // Docker's short form `/dev/x:rw` puts permissions in the second slot.
    if (parts.length === 2 && containerPath !== undefined && /^[rwm]+$/.test(containerPath)) {
      permissions = containerPath;
      containerPath = undefined;
    }
  } else {
    ({ hostPath, containerPath, permissions } = input);
  }
  const problem =
    badPath('device', hostPath) ?? (containerPath ? badPath('device target', containerPath) : undefined);
  if (problem) return problem;
  const perms = permissions ?? 'rwm';
  if (!/^(?!.*(.).*\1)[rwm]{1,3}$/.test(perms))
    return `permissions ${JSON.stringify(perms)} must be a combination of r, w and m`;
  return { hostPath, containerPath: containerPath || hostPath, permissions: perms };
}
