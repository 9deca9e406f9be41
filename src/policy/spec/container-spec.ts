import { z } from 'zod';
import { MAX_ID, text, userProblem } from '../../platform/http';
import { MIN_SIZED_FILESYSTEM_BYTES } from '../../platform/linux';
import { ImageReference, ParseImageReferenceOptions, parseImageReference } from '../../images';
import { LINUX_CAPABILITIES, cpusToNanoCpus, formatBytes, normalizeCapability, parseByteSize } from './units';
import { BlkioSpec, blkioRequestFields, convertBlkio } from './block-io';
import { bandwidthRequestFields, convertBandwidth } from './bandwidth';
import { convertEgress, egressRequestFields, type EgressRule } from './egress';
import { convertNetworks, networksRequestFields } from './networks';
import {
  parseBind,
  parseDevice,
  parseTmpfs,
  BindMount,
  DeviceMapping,
  TmpfsMount,
  VolumeMount,
  VolumeInput,
  parseVolume,
  volumeInputSchema,
  BindInput,
  DeviceInput,
  TmpfsInput,
  bindInputSchema,
  deviceInputSchema,
  tmpfsInputSchema,
} from './mounts';
import { parseSeccompProfile, SeccompProfile } from './seccomp-profile';
import { sysctlProblems } from './sysctls';
import { parseUlimit, Ulimit, ulimitInputSchema } from './ulimits';
import { parsePublish, publishInputSchema, type PublishedPort } from './ports';
import { convertLog, logRequestFields, type LogDriver } from './log-config';
import { parseRestartPolicy, restartInputSchema, type RestartPolicy } from './restart-policy';

/**
 * The one validated container spec the policy sees (issue 3). Every surface — REST, the
 * Docker-compatible socket, replay — turns its request into this before a decision is made,
 * so a rule cannot be dodged by choosing another surface.
 */
export interface SpecImage extends ImageReference {
  /** Digest the tag resolved to, when the caller already knows it; never counts as pinning. */
  resolvedDigest?: string;
}

export interface HostNamespaces {
  pid: boolean;
  ipc: boolean;
  net: boolean;
  uts: boolean;
}

export type { LogDriver };
export type { BindMount, DeviceMapping, TmpfsMount, PublishedPort, VolumeMount };

/** Absent = Warden's built-in default profile (the one every container gets unless told). */
export type SeccompSetting = { mode: 'unconfined' } | { mode: 'custom'; profile: SeccompProfile };

export interface ContainerSpec {
  image: SpecImage;
  command: string[];
  entrypoint?: string[];
  /** KEY=VALUE */
  env: string[];
  user?: string;
  workingDir?: string;
  labels: Record<string, string>;
  memoryBytes?: number;
  /** The writable layer's size (`--storage-opt size=`); absent = as large as the host's disk. */
  storageBytes?: number;
  /** memory + swap; -1 = unlimited swap */
  memorySwapBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
  cpusetCpus?: string;
  privileged: boolean;
  /** Normalized `CAP_X`, or `ALL`. */
  capAdd: string[];
  capDrop: string[];
  hostNamespaces: HostNamespaces;
  /** 'none' | 'host' | 'bridge' | 'container:<id>' | a network name */
  networkMode: string;
  /** The networks it joins at create beside networkMode (names); absent when none. */
  networks?: string[];
  /** Ports published on the host (`-p`); rows stored before they existed have none. */
  ports: PublishedPort[];
  binds: BindMount[];
  /** Named and anonymous volumes (issue 17); the image's own `VOLUME`s are added at create. */
  volumes: VolumeMount[];
  tmpfs: TmpfsMount[];
  devices: DeviceMapping[];
  readOnlyRootfs: boolean;
  /** Block I/O weight and per-device throttles; absent when none were asked for. */
  blkio?: BlkioSpec;
  /** Network rate caps in bits/s (src/network/bandwidth.ts): what it sends, what it receives. */
  egressBps?: number;
  ingressBps?: number;
  /**
   * Where it may send (src/network/egress.ts): absent = anywhere; [] = nothing but DNS to its
   * networks' aardvark-dns and replies.
   */
  egress?: EgressRule[];
  seccomp?: SeccompSetting;
  ulimits?: Ulimit[];
  /** Namespaced sysctls (`--sysctl`), written in the container's namespaces before it runs. */
  sysctls?: Record<string, string>;
  /** `--log-driver`: the shim's rotated json-file log, or none (nothing kept). Absent: json-file. */
  logDriver?: LogDriver;
  /** `--log-opt max-size`: bytes per log file before it rotates. */
  logMaxBytes?: number;
  /** `--log-opt max-file`: log files kept, the current one included. */
  logMaxFiles?: number;
  /** Absent = `no`. Judged by policy: `always` keeps a service up across exits and Warden restarts. */
  restartPolicy?: RestartPolicy;
}

// Docker's floor (daemon/daemon_unix.go linuxMinMemory): below it the container cannot start.
export const MIN_MEMORY_BYTES = 6 * 1024 ** 2;
// Larger than any single host; a value beyond it is a typo (a missing unit), not a request.
export const MAX_MEMORY_BYTES = 1024 ** 5;
// `docker run --cpus` accepts down to 0.01; NR_CPUS tops out at 8192.
export const MIN_NANO_CPUS = 10_000_000;
export const MAX_NANO_CPUS = 8192 * 1e9;
// cgroup v1 cpu.shares bounds (kernel MIN_SHARES / MAX_SHARES).
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262_144;
// PID_MAX_LIMIT on 64-bit kernels.
export const MAX_PIDS = 4_194_304;

const sizeSchema = z.union([z.number(), z.string()], {
  error: 'must be a byte count or a size such as 512m or 2g',
});
// Bounds: ARG_MAX-sized strings at most, no NUL byte (PostgreSQL refuses it in JSON, and
// execve's strings end at it), label keys as Docker bounds them by convention.
const stringList = z.array(text(131_072), { error: 'must be an array of strings' }).max(4096);

export const launchRequestSchema = z.strictObject({
  image: z
    .string({ error: 'is required: an image reference such as corp.io/team/app:1.2' })
    .min(1, 'is required: an image reference such as corp.io/team/app:1.2')
    .pipe(text(512)),
  cmd: stringList.optional(),
  entrypoint: stringList.optional(),
  env: z
    .union([stringList, z.record(text(4096), text(131_072))], {
      error: 'must be ["KEY=VALUE", ...] or {"KEY": "VALUE"}',
    })
    .optional(),
  user: text(256).optional(),
  workingDir: text(4096).optional(),
  labels: z.record(text(1024), text(65_536), { error: 'must be an object of string values' }).optional(),
  memory: sizeSchema.optional(),
  memorySwap: sizeSchema.optional(),
  storageSize: sizeSchema.optional(),
  cpus: z.union([z.number(), z.string()], { error: 'must be a number of CPUs such as 0.5' }).optional(),
  nanoCpus: z.number().int().optional(),
  cpuShares: z.number().int().optional(),
  pidsLimit: z.number().int().optional(),
  cpusetCpus: text(1024).optional(),
  privileged: z.boolean().optional(),
  capAdd: stringList.optional(),
  capDrop: stringList.optional(),
  network: text(256).optional(),
  ...networksRequestFields,
  publish: z.array(publishInputSchema).max(1024).optional(),
  pid: z.enum(['host', 'private']).optional(),
  ipc: z.enum(['host', 'private', 'shareable', 'none']).optional(),
  uts: z.enum(['host', 'private']).optional(),
  binds: z.array(bindInputSchema).max(256).optional(),
  volumes: z.array(volumeInputSchema).max(256).optional(),
  tmpfs: z
    .union([z.array(tmpfsInputSchema), z.record(z.string(), z.string())], {
      error: 'must be ["/run:size=64m", ...], [{target, size}] or {"/run": "size=64m"}',
    })
    .optional(),
  devices: z.array(deviceInputSchema).max(256).optional(),
  readOnly: z.boolean().optional(),
  sysctls: z
    .record(text(256), text(4096), { error: 'must be an object of sysctl names and string values' })
    .optional()
    .describe(
      'namespaced sysctls, e.g. {"net.ipv4.ip_forward": "1"} (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)',
    ),
  ...blkioRequestFields,
  ...bandwidthRequestFields,
  ...egressRequestFields,
  ...logRequestFields,
  ulimits: z
    .array(ulimitInputSchema)
    .max(16)
    .optional()
    .describe('resource limits as "nofile=1024:4096" or {name, soft, hard}; -1 = unlimited'),
  restart: restartInputSchema.optional(),
  seccomp: z
    .union([z.enum(['default', 'unconfined']), z.record(z.string(), z.unknown())], {
      error: 'must be "default", "unconfined" or a seccomp profile object in Docker\'s format',
    })
    .optional()
    .describe(
      'seccomp profile: "default" (the built-in one, also when left out), "unconfined", or a profile ' +
        "in Docker's JSON format; leaving the built-in profile needs a policy that allows it",
    ),
});

export type LaunchRequest = z.infer<typeof launchRequestSchema>;

export type ToContainerSpecResult = { ok: true; spec: ContainerSpec } | { ok: false; errors: string[] };

const ENV_KEY_RE = /^[^=\0]+$/;
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;
const CPUSET_RE = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/;
const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function zodIssueText(issue: z.core.$ZodIssue): string {
  const field = issue.path.length ? issue.path.map(String).join('.') : 'request';
  if (issue.code === 'unrecognized_keys')
    return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${field}: ${issue.message}`;
}

function parseSize(field: string, value: string | number, errors: string[]): number | undefined {
  const bytes = parseByteSize(value);
  if (bytes === undefined || !Number.isInteger(bytes)) {
    errors.push(
      `${field}: ${JSON.stringify(value)} is not a size; use bytes or a number with k, m, g or t, e.g. 512m`,
    );
    return undefined;
  }
  return bytes;
}

function checkRange(
  field: string,
  value: number,
  min: number,
  max: number,
  show: (n: number) => string,
): string | undefined {
  if (value < 0) return `${field}: ${show(value)} is negative`;
  if (value < min) return `${field}: ${show(value)} is below the minimum ${show(min)}`;
  if (value > max) return `${field}: ${show(value)} is above the maximum ${show(max)}`;
  return undefined;
}

function convertEnv(env: LaunchRequest['env'], errors: string[]): string[] {
  if (env === undefined) return [];
  const entries = Array.isArray(env) ? env : Object.entries(env).map(([k, v]) => `${k}=${v}`);
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq <= 0 || !ENV_KEY_RE.test(entry.slice(0, eq)) || entry.includes('\0'))
      errors.push(
        `env[${i}]: ${JSON.stringify(entry)} must be KEY=VALUE with a non-empty KEY and no NUL bytes`,
      );
  });
  return entries;
}

function convertCaps(field: 'capAdd' | 'capDrop', caps: string[] | undefined, errors: string[]): string[] {
  const out: string[] = [];
  (caps ?? []).forEach((raw, i) => {
    const cap = normalizeCapability(raw);
    if (cap !== 'ALL' && !LINUX_CAPABILITIES.has(cap))
      errors.push(`${field}[${i}]: unknown capability ${JSON.stringify(raw)}`);
    else if (!out.includes(cap)) out.push(cap);
  });
  return out;
}

function convertResources(req: LaunchRequest, spec: ContainerSpec, errors: string[]): void {
  if (req.memory !== undefined) {
    const bytes = parseSize('memory', req.memory, errors);
    const problem =
      bytes === undefined
        ? undefined
        : checkRange('memory', bytes, MIN_MEMORY_BYTES, MAX_MEMORY_BYTES, formatBytes);
    if (problem) errors.push(problem);
    else if (bytes !== undefined) spec.memoryBytes = bytes;
  }
  if (req.storageSize !== undefined) {
    const bytes = parseSize('storageSize', req.storageSize, errors);
    const problem =
      bytes === undefined
        ? undefined
        : checkRange('storageSize', bytes, MIN_SIZED_FILESYSTEM_BYTES, MAX_MEMORY_BYTES, formatBytes);
    if (problem) errors.push(problem);
    else if (bytes !== undefined) spec.storageBytes = bytes;
  }
  if (req.memorySwap !== undefined) {
    const bytes = parseSize('memorySwap', req.memorySwap, errors);
    if (bytes !== undefined) {
      if (req.memory === undefined)
        errors.push(
          'memorySwap: set memory as well; memorySwap is memory plus swap, so it needs a memory limit',
        );
      else if (bytes < -1) errors.push(`memorySwap: ${bytes} is negative; use -1 for unlimited swap`);
      else if (bytes !== -1 && spec.memoryBytes !== undefined && bytes < spec.memoryBytes)
        errors.push(
          `memorySwap: ${formatBytes(bytes)} is less than memory ${formatBytes(spec.memoryBytes)}; it counts memory plus swap (-1 = unlimited swap)`,
        );
      else if (bytes !== -1 && bytes > MAX_MEMORY_BYTES)
        errors.push(
          `memorySwap: ${formatBytes(bytes)} is above the maximum ${formatBytes(MAX_MEMORY_BYTES)}`,
        );
      else spec.memorySwapBytes = bytes;
    }
  }

  let nano: number | undefined;
  if (req.cpus !== undefined) {
    const cpus = typeof req.cpus === 'number' ? req.cpus : Number(req.cpus);
    if (!Number.isFinite(cpus) || (typeof req.cpus === 'string' && req.cpus.trim() === ''))
      errors.push(`cpus: ${JSON.stringify(req.cpus)} is not a number of CPUs such as 0.5`);
    else nano = cpusToNanoCpus(cpus);
  }
  if (req.nanoCpus !== undefined) {
    if (nano !== undefined && nano !== req.nanoCpus)
      errors.push(`cpus and nanoCpus disagree (${req.cpus} vs ${req.nanoCpus}); give one of them`);
    nano = req.nanoCpus;
  }
  if (nano !== undefined) {
    const field = req.cpus !== undefined ? 'cpus' : 'nanoCpus';
    const show = (n: number) => (field === 'cpus' ? String(n / 1e9) : String(n));
    const problem = checkRange(field, nano, MIN_NANO_CPUS, MAX_NANO_CPUS, show);
    if (problem) errors.push(problem);
    else spec.nanoCpus = nano;
  }

  if (req.cpuShares !== undefined) {
    const problem = checkRange('cpuShares', req.cpuShares, MIN_CPU_SHARES, MAX_CPU_SHARES, String);
    if (problem) errors.push(problem);
    else spec.cpuShares = req.cpuShares;
  }
  if (req.pidsLimit !== undefined) {
    if (req.pidsLimit <= 0)
      errors.push(`pidsLimit: ${req.pidsLimit} is not a limit; give a positive number or leave it out`);
    else if (req.pidsLimit > MAX_PIDS)
      errors.push(`pidsLimit: ${req.pidsLimit} is above the maximum ${MAX_PIDS}`);
    else spec.pidsLimit = req.pidsLimit;
  }
  if (req.cpusetCpus !== undefined) {
    const ok =
      CPUSET_RE.test(req.cpusetCpus) &&
      req.cpusetCpus.split(',').every((part) => {
        const [lo, hi = lo] = part.split('-').map(Number);
        return lo <= hi && hi < 8192;
      });
    if (ok) spec.cpusetCpus = req.cpusetCpus;
    else
      errors.push(
        `cpusetCpus: ${JSON.stringify(req.cpusetCpus)} must be CPU numbers and ranges such as 0-3,6`,
      );
  }
}

function convertMounts<I, O>(
  field: string,
  inputs: I[] | undefined,
  parse: (input: I) => O | string,
  errors: string[],
): O[] {
  const out: O[] = [];
  (inputs ?? []).forEach((input, i) => {
    const parsed = parse(input);
    if (typeof parsed === 'string') errors.push(`${field}[${i}]: ${parsed}`);
    else out.push(parsed);
  });
  return out;
}

/**
 * Validate a launch request and turn it into a ContainerSpec. Every problem is listed, each
 * naming its field, so a client fixes the request in one round trip.
 */
export function toContainerSpec(
  request: unknown,
  opts: ParseImageReferenceOptions = {},
): ToContainerSpecResult {
  const parsed = launchRequestSchema.safeParse(request);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map(zodIssueText) };
  const req = parsed.data;
  const errors: string[] = [];

  const image = parseImageReference(req.image, opts);
  if (!image.ok) errors.push(`image: ${image.error}`);

  const networkMode = req.network ?? 'none';
  if (
    !['none', 'host', 'bridge'].includes(networkMode) &&
    !(networkMode.startsWith('container:') && networkMode.length > 'container:'.length) &&
    !NETWORK_NAME_RE.test(networkMode)
  )
    errors.push(
      `network: ${JSON.stringify(networkMode)} is not none, host, bridge, container:<id> or a network name`,
    );

  const spec: ContainerSpec = {
    image: image.ok ? image.ref : { registry: '', repository: '' },
    command: req.cmd ?? [],
    env: convertEnv(req.env, errors),
    labels: req.labels ?? {},
    privileged: req.privileged ?? false,
    capAdd: convertCaps('capAdd', req.capAdd, errors),
    capDrop: convertCaps('capDrop', req.capDrop, errors),
    hostNamespaces: {
      pid: req.pid === 'host',
      ipc: req.ipc === 'host',
      net: networkMode === 'host',
      uts: req.uts === 'host',
    },
    networkMode,
    ports: convertMounts<(typeof req.publish & {})[number], PublishedPort[]>(
      'publish',
      req.publish,
      parsePublish,
      errors,
    ).flat(),
    binds: convertMounts<BindInput, BindMount>('binds', req.binds, parseBind, errors),
    volumes: convertMounts<VolumeInput, VolumeMount>('volumes', req.volumes, parseVolume, errors),
    tmpfs: convertMounts<TmpfsInput, TmpfsMount>(
      'tmpfs',
      Array.isArray(req.tmpfs)
        ? req.tmpfs
        : Object.entries(req.tmpfs ?? {}).map(([t, o]) => (o ? `${t}:${o}` : t)),
      parseTmpfs,
      errors,
    ),
    devices: convertMounts<DeviceInput, DeviceMapping>('devices', req.devices, parseDevice, errors),
    readOnlyRootfs: req.readOnly ?? false,
  };
  if (req.entrypoint !== undefined) spec.entrypoint = req.entrypoint;
  if (req.sysctls && Object.keys(req.sysctls).length) {
    errors.push(
      ...sysctlProblems(req.sysctls, {
        networkMode,
        hostNet: spec.hostNamespaces.net,
        hostIpc: spec.hostNamespaces.ipc,
      }),
    );
    spec.sysctls = { ...req.sysctls };
  }
  if (req.user !== undefined) {
    const problem = USER_RE.test(req.user)
      ? userProblem(req.user)
      : 'must be a name or uid, optionally :group or :gid';
    if (!problem) spec.user = req.user;
    else errors.push(`user: ${JSON.stringify(req.user)} ${problem} (numeric ids at most ${MAX_ID})`);
  }
  if (req.seccomp !== undefined && req.seccomp !== 'default') {
    if (req.seccomp === 'unconfined') spec.seccomp = { mode: 'unconfined' };
    else {
      const profile = parseSeccompProfile(req.seccomp);
      if (profile.ok) spec.seccomp = { mode: 'custom', profile: profile.profile };
      else errors.push(`seccomp: ${profile.error}`);
    }
  }
  convertLog(req, spec, errors);
  convertBandwidth(req, spec, errors);
  convertEgress(req, spec, errors);
  convertNetworks(req, spec, errors);
  if (req.ulimits?.length) {
    const ulimits = convertMounts('ulimits', req.ulimits, parseUlimit, errors);
    const names = new Set(ulimits.map((u) => u.name));
    if (names.size < ulimits.length) errors.push('ulimits: a ulimit is given more than once');
    spec.ulimits = ulimits;
  }
  if (req.restart !== undefined) {
    const restart = parseRestartPolicy(req.restart);
    if (typeof restart === 'string') errors.push(`restart: ${restart}`);
    else if (restart.name !== 'no') spec.restartPolicy = restart;
  }
  if (req.workingDir !== undefined) {
    if (req.workingDir.startsWith('/') && !req.workingDir.includes('\0')) spec.workingDir = req.workingDir;
    else errors.push(`workingDir: ${JSON.stringify(req.workingDir)} must be an absolute path`);
  }
  for (const key of Object.keys(spec.labels))
    if (key.trim() === '') errors.push('labels: a label key is empty');
  convertResources(req, spec, errors);
  const blkio = convertBlkio(req, errors);
  if (blkio) spec.blkio = blkio;

  const published = new Set<string>();
  for (const p of spec.ports) {
    if (p.hostPort === 0) continue;
    const key = `${p.hostIp || '0.0.0.0'}:${p.hostPort}/${p.protocol}`;
    if (published.has(key)) errors.push(`publish: host port ${key} is published twice`);
    published.add(key);
  }
  if (spec.ports.length && (networkMode === 'none' || networkMode === 'host'))
    errors.push(`publish: ports can only be published on a bridge network, not with network ${networkMode}`);
  if ((spec.egressBps ?? spec.ingressBps) !== undefined && (networkMode === 'none' || networkMode === 'host'))
    errors.push(`bandwidth: caps apply on a bridge network, not with network ${networkMode}`);
  if (spec.egress && (networkMode === 'none' || networkMode === 'host'))
    errors.push(`egress: an allowlist applies on a bridge network, not with network ${networkMode}`);

  const targets = new Set<string>();
  for (const t of [...spec.binds, ...spec.volumes, ...spec.tmpfs].map((m) => m.target)) {
    if (targets.has(t)) errors.push(`mounts: ${t} is mounted more than once`);
    targets.add(t);
  }
  return errors.length ? { ok: false, errors } : { ok: true, spec };
}
