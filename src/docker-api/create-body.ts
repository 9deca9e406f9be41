import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { absolutePath, cpusetProblem, text, userProblem } from '../platform/http';
import {
  MAX_CPU_SHARES,
  MAX_MEMORY_BYTES,
  MAX_NANO_CPUS,
  MAX_PIDS,
  MAX_SECCOMP_PROFILE_BYTES,
} from '../policy';
import { endpointsOf, publishedPorts } from './create-body-network';
import { parseSecurityOpt } from './security-opt';
import { refuseUnappliedOptions, unappliedFieldsSchema } from './unapplied-options';
import { logRequestOf } from './log-config';
import type { HealthcheckConfig } from '../runtime';
import { dockerHealthConfigSchema, healthcheckOf, type DockerHealthConfig } from './create-body-health';

/**
 * `POST /containers/create` body (Engine API ContainerConfig + HostConfig) → Warden's launch
 * request (the policy's input) and run options. Pure. Every Docker field that changes what a
 * container may do is either mapped (so policy judges it) or refused with a message — never
 * silently dropped, or a request could slip a privilege past the policy.
 */
export interface DockerCreateBody {
  Hostname?: string;
  User?: string;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  /** `-v /path`: an anonymous volume at each key. */
  Volumes?: Record<string, unknown> | null;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  Tty?: boolean;
  ExposedPorts?: Record<string, unknown> | null;
  Healthcheck?: DockerHealthConfig | null;
  HostConfig?: DockerHostConfig | null;
  NetworkingConfig?: {
    EndpointsConfig?: Record<
      string,
      { IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null; Aliases?: string[] | null } | null
    > | null;
  } | null;
}

export interface DockerHostConfig {
  /** The terminal's first size, [height, width] (API 1.42+). */
  ConsoleSize?: [number, number] | null;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpuShares?: number;
  PidsLimit?: number | null;
  CpusetCpus?: string;
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  NetworkMode?: string;
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  Binds?: string[] | null;
  Mounts?: Array<{
    Type?: string;
    Source?: string;
    Target?: string;
    ReadOnly?: boolean;
    TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
    VolumeOptions?: {
      NoCopy?: boolean;
      DriverConfig?: { Name?: string; Options?: Record<string, string> } | null;
    } | null;
  }> | null;
  VolumesFrom?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  ReadonlyRootfs?: boolean;
  StorageOpt?: Record<string, string> | null;
  AutoRemove?: boolean;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  PublishAllPorts?: boolean;
  SecurityOpt?: string[] | null;
  Sysctls?: Record<string, string> | null;
  DeviceCgroupRules?: string[] | null;
  Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
  OomKillDisable?: boolean | null;
  CgroupnsMode?: string;
  ExtraHosts?: string[] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  Runtime?: string;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  BlkioWeight?: number;
  BlkioWeightDevice?: Array<{ Path?: string; Weight?: number }> | null;
  BlkioDeviceReadBps?: DockerThrottleDevice[] | null;
  BlkioDeviceWriteBps?: DockerThrottleDevice[] | null;
  BlkioDeviceReadIOps?: DockerThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: DockerThrottleDevice[] | null;
}

/** moby's ThrottleDevice: a device path on the host and a rate (bytes or operations per second). */
export interface DockerThrottleDevice {
  Path: string;
  Rate: number;
}

const strings = (maxItems: number, maxLength: number) => z.array(text(maxLength)).max(maxItems);
const stringOrList = z.union([text(131_072), strings(4096, 131_072)]).nullable();
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const optionalText = (max: number) => text(max).optional();
/** Docker sends "" for an unset path. */
const optionalPath = (what: string) => z.union([z.literal(''), absolutePath(what)]).optional();

const throttleDevices = z
  .array(z.looseObject({ Path: text(4096), Rate: int(0, Number.MAX_SAFE_INTEGER) }))
  .max(64)
  .nullable()
  .optional();

/**
 * The create body as checked at the edge, before anything is decided or recorded: every field
 * Warden reads is typed, bounded and free of NUL bytes; a cpuset must name CPUs this host has
 * online and a numeric uid/gid fit in 31 bits — found here, not when the runtime starts it.
 * Fields Warden does not read pass (Docker clients send many); mapCreateBody refuses the ones
 * that would change what a container may do.
 */
export const dockerHostConfigSchema = z.looseObject({
  ConsoleSize: z
    .tuple([int(0, 65535), int(0, 65535)])
    .nullable()
    .optional(),
  Memory: int(0, MAX_MEMORY_BYTES).optional(),
  MemorySwap: int(-1, MAX_MEMORY_BYTES).optional(),
  NanoCpus: int(0, MAX_NANO_CPUS).optional(),
  CpuQuota: int(-1, 1_000_000 * 8192).optional(),
  CpuPeriod: z
    .union([z.literal(0), int(1000, 1_000_000)], { error: 'must be 0 or 1000-1000000 (µs)' })
    .optional(),
  CpuShares: int(0, MAX_CPU_SHARES).optional(),
  PidsLimit: int(-1, MAX_PIDS).nullable().optional(),
  CpusetCpus: z
    .string()
    .max(1024)
    .superRefine((v, ctx) => {
      const problem = v === '' ? undefined : cpusetProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  Privileged: z.boolean().optional(),
  CapAdd: strings(64, 64).nullable().optional(),
  CapDrop: strings(64, 64).nullable().optional(),
  NetworkMode: optionalText(256),
  PidMode: optionalText(256),
  IpcMode: optionalText(256),
  UTSMode: optionalText(256),
  UsernsMode: optionalText(256),
  Binds: strings(256, 8192).nullable().optional(),
  Mounts: z
    .array(
      z.looseObject({
        Type: optionalText(32),
        Source: optionalText(4096),
        Target: optionalText(4096),
        ReadOnly: z.boolean().optional(),
        TmpfsOptions: z
          .looseObject({ SizeBytes: z.number().int().optional(), Mode: z.number().int().optional() })
          .nullable()
          .optional(),
        VolumeOptions: z
          .looseObject({
            NoCopy: z.boolean().optional(),
            DriverConfig: z
              .looseObject({
                Name: optionalText(64),
                Options: z.record(text(64), text(4096)).nullable().optional(),
              })
              .nullable()
              .optional(),
          })
          .nullable()
          .optional(),
      }),
    )
    .max(256)
    .nullable()
    .optional(),
  VolumesFrom: z
    .array(text(256).regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*(:(ro|rw))?$/, 'must be a container[:ro|rw]'))
    .max(64)
    .nullable()
    .optional(),
  Tmpfs: z.record(text(4096), text(1024)).nullable().optional(),
  Devices: z
    .array(
      z.looseObject({
        PathOnHost: optionalText(4096),
        PathInContainer: optionalText(4096),
        CgroupPermissions: optionalText(8),
      }),
    )
    .max(256)
    .nullable()
    .optional(),
  ReadonlyRootfs: z.boolean().optional(),
  StorageOpt: z.record(text(64), text(256)).nullable().optional(),
  AutoRemove: z.boolean().optional(),
  RestartPolicy: z
    .looseObject({ Name: optionalText(64), MaximumRetryCount: int(0, 1_000_000).optional() })
    .nullable()
    .optional(),
  PortBindings: z
    .record(
      z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, 'must be port/protocol, e.g. 80/tcp'),
      z
        .array(z.looseObject({ HostIp: text(64).optional(), HostPort: text(16).optional() }))
        .max(1024)
        .nullable(),
    )
    .nullable()
    .optional(),
  PublishAllPorts: z.boolean().optional(),
  BlkioWeight: z.union([z.literal(0), int(10, 1000)], { error: 'must be 0 (unset) or 10-1000' }).optional(),
  BlkioWeightDevice: z
    .array(z.looseObject({ Path: optionalText(4096), Weight: int(0, 1000).optional() }))
    .max(64)
    .nullable()
    .optional(),
  BlkioDeviceReadBps: throttleDevices,
  BlkioDeviceWriteBps: throttleDevices,
  BlkioDeviceReadIOps: throttleDevices,
  BlkioDeviceWriteIOps: throttleDevices,
  // seccomp=<profile JSON> travels inline
  SecurityOpt: strings(64, MAX_SECCOMP_PROFILE_BYTES + 16)
    .nullable()
    .optional(),
  ...unappliedFieldsSchema,
  Sysctls: z.record(text(256), text(4096)).nullable().optional(),
  LogConfig: z
    .looseObject({ Type: text(64).optional(), Config: z.record(text(256), text(4096)).nullable().optional() })
    .nullable()
    .optional(),
});

/** Docker's `User`: name, uid, name:group or uid:gid, ids within 0…2^31-1; '' is the image's. */
export const dockerUser = z.string().superRefine((u, ctx) => {
  const problem = u === '' ? undefined : userProblem(u);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const dockerCreateBodySchema = z.looseObject({
  Hostname: z
    .union([z.literal(''), z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, 'must be a host name')])
    .optional(),
  User: dockerUser.optional(),
  Env: strings(4096, 131_072).nullable().optional(),
  Cmd: stringOrList.optional(),
  Entrypoint: stringOrList.optional(),
  Image: text(512).optional(),
  WorkingDir: optionalPath('WorkingDir'),
  Labels: z.record(text(1024), text(65_536)).nullable().optional(),
  Volumes: z.record(text(4096), z.unknown()).nullable().optional(),
  OpenStdin: z.boolean().optional(),
  StdinOnce: z.boolean().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Tty: z.boolean().optional(),
  ExposedPorts: z
    .record(
      z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, 'must be port/protocol, e.g. 80/tcp'),
      z.unknown(),
    )
    .nullable()
    .optional(),
  Healthcheck: dockerHealthConfigSchema,
  HostConfig: dockerHostConfigSchema.nullable().optional(),
  NetworkingConfig: z
    .looseObject({
      EndpointsConfig: z
        .record(
          text(256),
          z
            .looseObject({
              IPAMConfig: z
                .looseObject({ IPv4Address: text(64).optional(), IPv6Address: text(64).optional() })
                .nullable()
                .optional(),
              Aliases: z.array(text(253)).max(64).nullable().optional(),
            })
            .nullable(),
        )
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

export interface MappedCreate {
  launch: Record<string, unknown>;
  options: {
    autoRemove: boolean;
    openStdin: boolean;
    stdinOnce?: boolean;
    tty?: boolean;
    consoleSize?: [number, number];
    hostname?: string;
    volumesFrom?: string[];
    endpoints?: Record<string, { ipv4Address?: string; aliases?: string[] }>;
    publishAllPorts?: boolean;
    healthcheck?: HealthcheckConfig;
  };
  warnings: string[];
}

/** What of the engine's setup the mapping depends on. */
export interface MapCreateOptions {
  /** Bridge networking is on (WARDEN_NETWORKING=bridge): Docker's default network is `bridge`. */
  networking?: boolean;
}

const list = (v: string[] | string | null | undefined): string[] | undefined =>
  v === null || v === undefined ? undefined : Array.isArray(v) ? v : [v];

const nonEmpty = (s: string | undefined): string | undefined => (s ? s : undefined);

function namespaceMode(field: string, mode: string | undefined, allowed: string[]): string | undefined {
  if (!mode) return undefined;
  if (allowed.includes(mode)) return mode;
  throw new WardenError(
    'VALIDATION_FAILED',
    `HostConfig.${field} '${mode}' is not supported by Warden: use ${allowed.join(' or ')}`,
  );
}

export function mapCreateBody(body: DockerCreateBody, opts: MapCreateOptions = {}): MappedCreate {
  const hc = body.HostConfig ?? {};
  const warnings: string[] = [];
  if (!body.Image) throw new WardenError('VALIDATION_FAILED', 'config: Image is required');
  if (hc.UsernsMode)
    throw new WardenError('VALIDATION_FAILED', `HostConfig.UsernsMode '${hc.UsernsMode}' is not supported`);
  const security = parseSecurityOpt(hc.SecurityOpt ?? []);
  refuseUnappliedOptions(hc);
  const publish = publishedPorts(body, hc);
  if (publish.length && !opts.networking)
    throw new WardenError(
      'VALIDATION_FAILED',
      'port publishing (-p) needs bridge networking, which is off on this Warden (WARDEN_NETWORKING=bridge): use --network host',
    );

  // Docker's default network is the bridge. With bridge networking off, such a container has no
  // network beyond loopback: said in the create warnings rather than hidden.
  let network = nonEmpty(hc.NetworkMode);
  if (network === undefined || network === 'default' || network === 'bridge') {
    if (opts.networking) network = 'bridge';
    else {
      if (network !== undefined && network !== 'default')
        warnings.push(`network '${network}' is not available: the container runs with network none`);
      network = 'none';
    }
  }
  const endpoints = endpointsOf(body, network, hc.NetworkMode);

  // `-v name:/path` arrives in Binds beside host paths; `-v /path` in Config.Volumes.
  const binds: unknown[] = (hc.Binds ?? []).filter((b) => b.startsWith('/'));
  const volumes: unknown[] = [
    ...(hc.Binds ?? []).filter((b) => !b.startsWith('/')),
    ...Object.keys(body.Volumes ?? {}),
  ];
  for (const m of hc.Mounts ?? []) {
    if (m.Type === 'bind')
      binds.push({ source: m.Source ?? '', target: m.Target ?? '', readOnly: !!m.ReadOnly });
    else if (m.Type === 'volume') {
      const driver = m.VolumeOptions?.DriverConfig;
      if (driver?.Name || Object.keys(driver?.Options ?? {}).length)
        throw new WardenError(
          'VALIDATION_FAILED',
          `volume driver options in --mount are not supported: create the volume first (docker volume create --opt …)`,
        );
      volumes.push({
        source: m.Source || undefined,
        target: m.Target ?? '',
        readOnly: !!m.ReadOnly,
        noCopy: !!m.VolumeOptions?.NoCopy,
      });
    } else if (m.Type === 'tmpfs')
      continue; // handled with Tmpfs below
    else
      throw new WardenError(
        'VALIDATION_FAILED',
        `mount type '${m.Type}' is not supported by Warden: use bind, volume or tmpfs`,
      );
  }
  if (hc.BlkioWeightDevice?.length)
    throw new WardenError(
      'VALIDATION_FAILED',
      'per-device block I/O weights (--blkio-weight-device) are not supported by Warden: use --blkio-weight',
    );
  const throttles = (list: DockerThrottleDevice[] | null | undefined) =>
    list?.length ? list.map((d) => ({ path: d.Path, rate: d.Rate })) : undefined;
  const tmpfs: Record<string, string> = { ...(hc.Tmpfs ?? {}) };
  for (const m of hc.Mounts ?? [])
    if (m.Type === 'tmpfs' && m.Target) tmpfs[m.Target] = tmpfsMountOptions(m.TmpfsOptions);

  const launch: Record<string, unknown> = {
    image: body.Image,
    cmd: list(body.Cmd),
    // `--entrypoint ""` arrives as [""]: Docker reads it as "no entrypoint".
    entrypoint: list(body.Entrypoint)?.filter((s, _i, a) => !(a.length === 1 && s === '')),
    // `-e NAME` with NAME unset on the client arrives without '=': Docker leaves it out.
    env: body.Env?.filter((e) => e.includes('=')),
    user: nonEmpty(body.User),
    workingDir: nonEmpty(body.WorkingDir),
    labels: body.Labels && Object.keys(body.Labels).length ? body.Labels : undefined,
    // Docker's zero values mean "not set"; -1 pids means unlimited, which is also "not set".
    memory: hc.Memory ? hc.Memory : undefined,
    memorySwap: hc.MemorySwap ? hc.MemorySwap : undefined,
    nanoCpus: hc.NanoCpus
      ? hc.NanoCpus
      : hc.CpuQuota && hc.CpuQuota > 0
        ? Math.round((hc.CpuQuota / (hc.CpuPeriod || 100_000)) * 1e9)
        : undefined,
    cpuShares: hc.CpuShares ? hc.CpuShares : undefined,
    pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
    cpusetCpus: nonEmpty(hc.CpusetCpus),
    privileged: hc.Privileged ? true : undefined,
    capAdd: hc.CapAdd?.length ? hc.CapAdd : undefined,
    capDrop: hc.CapDrop?.length ? hc.CapDrop : undefined,
    network,
    publish: publish.length ? publish : undefined,
    pid: namespaceMode('PidMode', hc.PidMode, ['host', 'private']),
    ipc: namespaceMode('IpcMode', hc.IpcMode, ['host', 'private', 'shareable', 'none']),
    uts: namespaceMode('UTSMode', hc.UTSMode, ['host', 'private']),
    binds: binds.length ? binds : undefined,
    volumes: volumes.length ? volumes : undefined,
    tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    devices: hc.Devices?.length
      ? hc.Devices.map((d) => ({
          hostPath: d.PathOnHost ?? '',
          containerPath: d.PathInContainer || undefined,
          permissions: d.CgroupPermissions || undefined,
        }))
      : undefined,
    readOnly: hc.ReadonlyRootfs ? true : undefined,
    storageSize: storageSize(hc.StorageOpt),
    blkioWeight: hc.BlkioWeight ? hc.BlkioWeight : undefined,
    deviceReadBps: throttles(hc.BlkioDeviceReadBps),
    deviceWriteBps: throttles(hc.BlkioDeviceWriteBps),
    deviceReadIops: throttles(hc.BlkioDeviceReadIOps),
    deviceWriteIops: throttles(hc.BlkioDeviceWriteIOps),
    seccomp: security.seccomp,
    ...logRequestOf(hc.LogConfig),
    sysctls: hc.Sysctls && Object.keys(hc.Sysctls).length ? hc.Sysctls : undefined,
    ulimits: hc.Ulimits?.length
      ? hc.Ulimits.map((u) => ({ name: u.Name ?? '', soft: u.Soft ?? 0, hard: u.Hard ?? u.Soft ?? 0 }))
      : undefined,
    // `no` (the CLI's default) is no policy.
    restart:
      hc.RestartPolicy?.Name && hc.RestartPolicy.Name !== 'no'
        ? { name: hc.RestartPolicy.Name, maximumRetryCount: hc.RestartPolicy.MaximumRetryCount ?? 0 }
        : undefined,
  };
  for (const k of Object.keys(launch)) if (launch[k] === undefined) delete launch[k];
  return {
    launch,
    options: {
      autoRemove: !!hc.AutoRemove,
      openStdin: !!body.OpenStdin,
      ...(body.StdinOnce ? { stdinOnce: true } : {}),
      ...(body.Tty ? { tty: true } : {}),
      ...(body.Tty && hc.ConsoleSize?.[0] && hc.ConsoleSize[1] ? { consoleSize: hc.ConsoleSize } : {}),
      hostname: nonEmpty(body.Hostname),
      ...(endpoints ? { endpoints } : {}),
      ...(hc.PublishAllPorts ? { publishAllPorts: true } : {}),
      ...(hc.VolumesFrom?.length ? { volumesFrom: hc.VolumesFrom } : {}),
      ...(body.Healthcheck ? { healthcheck: healthcheckOf(body.Healthcheck) } : {}),
    },
    warnings,
  };
}

/** `--mount type=tmpfs,tmpfs-size=…,tmpfs-mode=…` as the `--tmpfs` option string. */
function tmpfsMountOptions(o: { SizeBytes?: number; Mode?: number } | null | undefined): string {
  const opts: string[] = [];
  if (o?.SizeBytes) opts.push(`size=${o.SizeBytes}`);
  if (o?.Mode) opts.push(`mode=${o.Mode.toString(8).padStart(4, '0')}`);
  return opts.join(',');
}

/** `--storage-opt size=…` is the writable layer's size; Docker's other keys are graph-driver ones. */
function storageSize(opts: Record<string, string> | null | undefined): string | undefined {
  for (const key of Object.keys(opts ?? {}))
    if (key !== 'size')
      throw new WardenError(
        'VALIDATION_FAILED',
        `--storage-opt ${key} is not supported by Warden: only size= (the writable layer's size)`,
      );
  return opts?.size || undefined;
}
