import type { ImageRecord } from '../images';
import { formatEgress, type BlkioRate } from '../policy';
import { cgroupLimits, type ContainerRecord, type HealthcheckConfig } from '../runtime';
import { logConfigView } from './log-config';

/**
 * Warden's container records in the Engine API's shapes (ContainerJSON for inspect,
 * ContainerSummary for ps). Pure: the image record, when the caller has it, supplies the
 * defaults Docker shows (command line, env).
 */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's rule: the request's entrypoint replaces the image's, and then so does its cmd. */
export function commandOf(c: ContainerRecord, image?: ImageRecord): string[] {
  const entrypoint = c.spec.entrypoint ?? image?.config.Entrypoint ?? [];
  const cmd = c.spec.command.length || c.spec.entrypoint ? c.spec.command : (image?.config.Cmd ?? []);
  return [...entrypoint, ...cmd];
}

function envOf(c: ContainerRecord, image?: ImageRecord): string[] {
  const env = new Map<string, string>();
  for (const kv of [...(image?.config.Env ?? []), ...c.spec.env]) env.set(kv.split('=', 1)[0], kv);
  return [...env.values()];
}

/** none and host as before networks existed; a bridge network by its name. */
const networkMode = (c: ContainerRecord) =>
  c.spec.networkMode === 'host' || c.spec.hostNamespaces.net
    ? 'host'
    : c.spec.networkMode === 'default'
      ? 'none'
      : c.spec.networkMode;

/** Docker's Blkio* HostConfig fields as the create set them (paths, not major:minor). */
function blkioHostConfig(c: ContainerRecord): Record<string, unknown> {
  const devices = c.spec.blkio?.devices ?? [];
  const rates = (rate: BlkioRate) =>
    devices.filter((d) => d[rate] !== undefined).map((d) => ({ Path: d.path, Rate: d[rate] }));
  return {
    BlkioWeight: c.spec.blkio?.weight ?? 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: rates('readBps'),
    BlkioDeviceWriteBps: rates('writeBps'),
    BlkioDeviceReadIOps: rates('readIops'),
    BlkioDeviceWriteIOps: rates('writeIops'),
  };
}

/** The image as the client named it (`alpine`, not `docker.io/library/alpine:latest`), as Docker shows it. */
const imageAsGiven = (c: ContainerRecord) => c.options.imageAsGiven ?? c.image;

/** A live container whose node missed its heartbeat window: nobody can vouch for its state. */
const LIVE = ['running', 'paused', 'restarting'];
export const unknownOnDownNode = (c: ContainerRecord, down?: Set<string>): boolean =>
  !!down?.has(c.node) && LIVE.includes(c.state);

export function inspectContainer(
  c: ContainerRecord,
  image?: ImageRecord,
  downNodes?: Set<string>,
): Record<string, unknown> {
  const argv = commandOf(c, image);
  const limits = cgroupLimits(c.spec);
  const unknown = unknownOnDownNode(c, downNodes);
  // A paused container's process is there, only frozen: Docker says Running and Paused. A
  // restarting one counts as running too in Docker's state (its Pid is 0).
  const running = c.state === 'running' || c.state === 'paused';
  return {
    Id: c.id,
    Created: c.createdAt,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: unknown ? 'unknown' : c.state,
      Running: running || c.state === 'restarting',
      Paused: c.state === 'paused',
      Restarting: c.state === 'restarting',
      OOMKilled: c.oomKilled,
      Dead: c.state === 'dead',
      Pid: running ? (c.pid ?? 0) : 0,
      ExitCode: c.exitCode ?? 0,
      Error: unknown ? `node ${c.node} missed its heartbeat: last recorded ${c.state}` : (c.error ?? ''),
      StartedAt: c.startedAt ?? ZERO_TIME,
      FinishedAt: c.finishedAt ?? ZERO_TIME,
      ...(c.health ? { Health: c.health } : {}),
    },
    Image: c.imageDigest ?? '',
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    ExecIDs: null,
    HostConfig: {
      Binds: [
        ...c.spec.binds.map((b) => `${b.source}:${b.target}${b.readOnly ? ':ro' : ''}`),
        ...(c.spec.volumes ?? [])
          .filter((v) => v.name)
          .map((v) => `${v.name}:${v.target}${v.readOnly ? ':ro' : ''}${v.noCopy ? ',nocopy' : ''}`),
      ],
      NetworkMode: networkMode(c),
      PublishAllPorts: !!c.options.publishAllPorts,
      RestartPolicy: {
        Name: c.spec.restartPolicy?.name ?? 'no',
        MaximumRetryCount: c.spec.restartPolicy?.maximumRetryCount ?? 0,
      },
      AutoRemove: c.options.autoRemove,
      CapAdd: c.spec.capAdd.length ? c.spec.capAdd : null,
      CapDrop: c.spec.capDrop.length ? c.spec.capDrop : null,
      IpcMode: c.spec.hostNamespaces.ipc ? 'host' : 'private',
      PidMode: c.spec.hostNamespaces.pid ? 'host' : '',
      UTSMode: c.spec.hostNamespaces.uts ? 'host' : '',
      Privileged: c.spec.privileged,
      ReadonlyRootfs: c.spec.readOnlyRootfs,
      ...(c.spec.sysctls && { Sysctls: c.spec.sysctls }),
      StorageOpt: c.spec.storageBytes === undefined ? null : { size: String(c.spec.storageBytes) },
      Tmpfs: Object.fromEntries(
        c.spec.tmpfs.map((t) => [
          t.target,
          [...(t.sizeBytes ? [`size=${t.sizeBytes}`] : []), ...t.options].join(','),
        ]),
      ),
      LogConfig: logConfigView(c.spec),
      Memory: limits.memoryBytes ?? 0,
      MemorySwap: limits.memorySwapBytes ?? 0,
      NanoCpus: limits.nanoCpus ?? 0,
      CpuShares: limits.cpuShares ?? 0,
      CpuQuota: 0,
      CpuPeriod: 0,
      CpusetCpus: limits.cpusetCpus ?? '',
      PidsLimit: limits.pidsLimit ?? null,
      ...blkioHostConfig(c),
      // Warden's own (Docker has no bandwidth cap): bits/s, as applied with tc on its veths.
      ...(c.spec.egressBps !== undefined || c.spec.ingressBps !== undefined
        ? { WardenBandwidth: { EgressBps: c.spec.egressBps ?? 0, IngressBps: c.spec.ingressBps ?? 0 } }
        : {}),
      // Warden's own: where it may send (absent: anywhere), enforced by nft in its namespace.
      ...(c.spec.egress ? { WardenEgress: c.spec.egress.map(formatEgress) } : {}),
      Devices: c.spec.devices.map((d) => ({
        PathOnHost: d.hostPath,
        PathInContainer: d.containerPath,
        CgroupPermissions: d.permissions,
      })),
    },
    Mounts: [
      ...c.spec.binds.map((b) => ({
        Type: 'bind',
        Source: b.source,
        Destination: b.target,
        Mode: b.readOnly ? 'ro' : '',
        RW: !b.readOnly,
        Propagation: 'rprivate',
      })),
      ...(c.options.volumeMounts ?? []).map((v) => ({
        Type: 'volume',
        Name: v.name,
        Source: v.source,
        Destination: v.target,
        Driver: 'local',
        Mode: v.readOnly ? 'ro' : 'z',
        RW: !v.readOnly,
        Propagation: '',
      })),
    ],
    Config: {
      Hostname: c.options.hostname ?? c.id.slice(0, 12),
      Domainname: '',
      User: c.spec.user ?? image?.config.User ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: !!c.options.tty,
      OpenStdin: c.options.openStdin,
      StdinOnce: !!c.options.stdinOnce,
      Env: envOf(c, image),
      Cmd: c.spec.command.length ? c.spec.command : (image?.config.Cmd ?? null),
      Image: imageAsGiven(c),
      Volumes: null,
      WorkingDir: c.spec.workingDir ?? image?.config.WorkingDir ?? '',
      Entrypoint: c.spec.entrypoint ?? image?.config.Entrypoint ?? null,
      Labels: c.labels,
      ...(c.options.healthcheck ? { Healthcheck: dockerHealthcheck(c.options.healthcheck) } : {}),
    },
    NetworkSettings: { Networks: {}, Ports: {} },
    // Not Docker's: which policy version admitted it, and who created it.
    Warden: { PolicyVersion: c.policyVersion ?? null, CreatedBy: c.createdBy, Node: c.node },
  };
}

/** go-units HumanDuration, which `docker ps` shows. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** Docker's HealthConfig as inspect's Config shows it (zero fields left out). */
function dockerHealthcheck(h: HealthcheckConfig): Record<string, unknown> {
  return {
    Test: h.test,
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

/** `(healthy)`, `(health: starting)` after Up, as `docker ps` shows it. */
const healthText = (c: ContainerRecord) =>
  c.health ? ` (${c.health.Status === 'starting' ? 'health: starting' : c.health.Status})` : '';

export function statusText(c: ContainerRecord, now = Date.now()): string {
  switch (c.state) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(c.startedAt ?? c.createdAt))}${healthText(c)}`;
    case 'restarting':
      return `Restarting (${c.exitCode ?? 0}) ${humanDuration(now - Date.parse(c.finishedAt ?? c.createdAt))} ago`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(c.startedAt ?? c.createdAt))} (Paused)`;
    case 'exited':
      return `Exited (${c.exitCode ?? 0}) ${humanDuration(now - Date.parse(c.finishedAt ?? c.createdAt))} ago`;
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

export function summarizeContainer(
  c: ContainerRecord,
  image?: ImageRecord,
  downNodes?: Set<string>,
): Record<string, unknown> {
  const unknown = unknownOnDownNode(c, downNodes);
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: imageAsGiven(c),
    ImageID: c.imageDigest ?? '',
    Command: commandOf(c, image).join(' '),
    Created: Math.floor(Date.parse(c.createdAt) / 1000),
    Ports: [],
    Labels: c.labels,
    State: unknown ? 'unknown' : c.state,
    Status: unknown ? `Unknown (node ${c.node} down; last ${statusText(c)})` : statusText(c),
    HostConfig: { NetworkMode: networkMode(c) },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}
