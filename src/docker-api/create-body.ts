import { WardenError } from '../platform/errors';

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
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  Tty?: boolean;
  HostConfig?: DockerHostConfig | null;
}

export interface DockerHostConfig {
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
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }> | null;
  Tmpfs?: Record<string, string> | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  ReadonlyRootfs?: boolean;
  AutoRemove?: boolean;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  PortBindings?: Record<string, unknown> | null;
  SecurityOpt?: string[] | null;
}

export interface MappedCreate {
  launch: Record<string, unknown>;
  options: { autoRemove: boolean; openStdin: boolean; hostname?: string };
  warnings: string[];
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

export function mapCreateBody(body: DockerCreateBody): MappedCreate {
  const hc = body.HostConfig ?? {};
  const warnings: string[] = [];
  if (!body.Image) throw new WardenError('VALIDATION_FAILED', 'config: Image is required');
  if (body.Tty)
    throw new WardenError(
      'VALIDATION_FAILED',
      'TTY mode (-t) is not supported by Warden yet: run without -t (with -i, stdin still works)',
    );
  if (hc.RestartPolicy?.Name && hc.RestartPolicy.Name !== 'no')
    throw new WardenError(
      'VALIDATION_FAILED',
      `restart policy '${hc.RestartPolicy.Name}' is not supported by Warden: leave --restart out`,
    );
  if (hc.UsernsMode)
    throw new WardenError('VALIDATION_FAILED', `HostConfig.UsernsMode '${hc.UsernsMode}' is not supported`);
  if (hc.SecurityOpt?.length)
    throw new WardenError(
      'VALIDATION_FAILED',
      `security options (${hc.SecurityOpt.join(', ')}) are not supported by Warden: leave --security-opt out`,
    );
  if (hc.PortBindings && Object.keys(hc.PortBindings).length)
    throw new WardenError(
      'VALIDATION_FAILED',
      'port publishing (-p) needs bridge networking, which Warden does not have: use --network host',
    );

  // Docker's default network is a bridge; Warden has none, so such a container has no network
  // beyond loopback. Said in the create warnings rather than hidden.
  let network = nonEmpty(hc.NetworkMode);
  if (network === undefined || network === 'default' || network === 'bridge') {
    if (network !== undefined && network !== 'default')
      warnings.push(`network '${network}' is not available: the container runs with network none`);
    network = 'none';
  }

  const binds: unknown[] = [...(hc.Binds ?? [])];
  for (const m of hc.Mounts ?? []) {
    if (m.Type === 'bind')
      binds.push({ source: m.Source ?? '', target: m.Target ?? '', readOnly: !!m.ReadOnly });
    else if (m.Type === 'tmpfs')
      continue; // handled with Tmpfs below
    else
      throw new WardenError(
        'VALIDATION_FAILED',
        `mount type '${m.Type}' is not supported by Warden: use bind mounts or tmpfs`,
      );
  }
  const tmpfs: Record<string, string> = { ...(hc.Tmpfs ?? {}) };
  for (const m of hc.Mounts ?? []) if (m.Type === 'tmpfs' && m.Target) tmpfs[m.Target] = '';

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
    pid: namespaceMode('PidMode', hc.PidMode, ['host', 'private']),
    ipc: namespaceMode('IpcMode', hc.IpcMode, ['host', 'private', 'shareable', 'none']),
    uts: namespaceMode('UTSMode', hc.UTSMode, ['host', 'private']),
    binds: binds.length ? binds : undefined,
    tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    devices: hc.Devices?.length
      ? hc.Devices.map((d) => ({
          hostPath: d.PathOnHost ?? '',
          containerPath: d.PathInContainer || undefined,
          permissions: d.CgroupPermissions || undefined,
        }))
      : undefined,
    readOnly: hc.ReadonlyRootfs ? true : undefined,
  };
  for (const k of Object.keys(launch)) if (launch[k] === undefined) delete launch[k];
  return {
    launch,
    options: {
      autoRemove: !!hc.AutoRemove,
      openStdin: !!body.OpenStdin,
      hostname: nonEmpty(body.Hostname),
    },
    warnings,
  };
}
