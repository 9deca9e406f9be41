import type { NetworkedContainer } from '../../network';
import type { ContainerSpec, SeccompProfile } from '../../policy';
import { BLKIO_RATES } from '../../policy';
import * as fs from 'node:fs';
import { blockDeviceOf, diskHolding, splitDev, type BlockDevice } from '../cgroups';
import { isMountPoint } from '../../platform/linux';
import type { BlkioLimits, CgroupLimits, DeviceRate } from '../cgroups';
import type { ShimMount, ShimRlimit, ShimRunConfig } from '../shim/shim-protocol';
import type { ContainerRecord } from './container';
import type { ContainerFiles } from './container-files';
import type { PreparedImage } from '../../images';
import { resolveUser } from './resolve-user';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** cgroup limits straight from the effective spec (policy defaults already filled in). */
export function cgroupLimits(spec: ContainerSpec): CgroupLimits {
  return {
    memoryBytes: spec.memoryBytes,
    // Docker's rule: no --memory-swap means memory+swap = memory (no swap beyond the cap).
    memorySwapBytes: spec.memorySwapBytes ?? spec.memoryBytes,
    nanoCpus: spec.nanoCpus,
    cpuShares: spec.cpuShares,
    pidsLimit: spec.pidsLimit,
    cpusetCpus: spec.cpusetCpus,
  };
}

/**
 * The limits the cgroup is created with: cgroupLimits plus block I/O throttles, whose device
 * paths are resolved to the kernel's major:minor here, on the host that runs the container.
 * Throws a CgroupError (INVALID_LIMIT, a 422 naming the path) for a path that is no block device.
 */
export function hostCgroupLimits(spec: ContainerSpec, files?: ContainerFiles): CgroupLimits {
  const limits = cgroupLimits(spec);
  if (!spec.blkio) return limits;
  const blkio: BlkioLimits = {};
  if (spec.blkio.weight !== undefined) blkio.weight = spec.blkio.weight;
  const layer = files && layerDevices(files);
  for (const d of spec.blkio.devices) {
    const dev = blockDeviceOf(d.path);
    // The root filesystem's writes go to its loop device: a throttle on the disk under it holds them too.
    const devs = layer && same(dev, layer.disk) ? [dev, layer.loop] : [dev];
    for (const rate of BLKIO_RATES) {
      const value = d[rate];
      if (value !== undefined)
        for (const x of devs) (blkio[rate] ??= [] as DeviceRate[]).push({ ...x, rate: value });
    }
  }
  return { ...limits, blkio };
}

const same = (a: BlockDevice, b: BlockDevice) => a.major === b.major && a.minor === b.minor;

/** A sized writable layer's loop device and the disk holding its image (when it is mounted). */
function layerDevices(files: ContainerFiles): { loop: BlockDevice; disk: BlockDevice } | undefined {
  if (!fs.existsSync(files.layerImage) || !isMountPoint(files.layer)) return undefined;
  const disk = diskHolding(files.layerImage);
  return disk && { loop: splitDev(fs.statSync(files.layer).dev), disk };
}

/** The argv Docker would run: entrypoint + cmd, where the request's cmd replaces the image's. */
export function commandLine(spec: ContainerSpec, image: PreparedImage): string[] {
  const entrypoint = spec.entrypoint ?? image.config.entrypoint;
  const cmd = spec.command.length || spec.entrypoint ? spec.command : image.config.cmd;
  return [...entrypoint, ...cmd];
}

/** Image env, then the request's (which wins per key), plus PATH/HOSTNAME/HOME as Docker sets them. */
export function environment(
  spec: ContainerSpec,
  image: PreparedImage,
  hostname: string,
  home: string,
): string[] {
  const env = new Map<string, string>();
  for (const kv of [`HOSTNAME=${hostname}`, ...image.config.env, ...spec.env]) {
    const i = kv.indexOf('=');
    env.set(i === -1 ? kv : kv.slice(0, i), kv);
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', `HOME=${home}`);
  return [...env.values()];
}

export function hostnameOf(c: ContainerRecord): string {
  return c.options.hostname ?? c.id.slice(0, 12);
}

/** The spec's ulimits as the shim's rlimits (Docker's -1 is unlimited); exec'd processes get them too. */
export function rlimitsOf(spec: ContainerSpec): ShimRlimit[] | undefined {
  const limit = (n: number): number | 'unlimited' => (n === -1 ? 'unlimited' : n);
  return spec.ulimits?.map((u) => ({ type: u.name, soft: limit(u.soft), hard: limit(u.hard) }));
}

/** What the shim installs: the built-in profile (undefined), none, or the request's own. */
export function seccompOf(spec: ContainerSpec): SeccompProfile | 'unconfined' | undefined {
  if (spec.seccomp?.mode === 'unconfined') return 'unconfined';
  return spec.seccomp?.mode === 'custom' ? spec.seccomp.profile : undefined;
}

/** The shim's choice: the host's namespace, or a new one (which bridge networks then set up). */
export function networkOf(spec: ContainerSpec): 'none' | 'host' {
  return spec.networkMode === 'host' || spec.hostNamespaces.net ? 'host' : 'none';
}

/** What networking needs to know of a container (src/network). */
export function networked(c: ContainerRecord): NetworkedContainer {
  return {
    id: c.id,
    name: c.name,
    hostname: hostnameOf(c),
    networkMode: networkOf(c.spec) === 'host' ? 'host' : c.spec.networkMode,
    endpoints: c.options.endpoints ?? {},
    ports: c.spec.ports ?? [],
    bandwidth: { egressBps: c.spec.egressBps, ingressBps: c.spec.ingressBps },
    ...(c.spec.egress ? { egress: c.spec.egress } : {}),
  };
}

/** True when the container joins a bridge network: its start sets its namespace up. */
export function joinsNetworks(c: ContainerRecord): boolean {
  const n = networked(c);
  return ![n.networkMode, ...Object.keys(n.endpoints)].every((m) => m === 'none' || m === 'host');
}

const depth = (p: string) => p.split('/').filter(Boolean).length;

export function buildRunConfig(
  c: ContainerRecord,
  image: PreparedImage,
  files: ContainerFiles,
): ShimRunConfig {
  const spec = c.spec;
  const args = commandLine(spec, image);
  if (args.length === 0) {
    throw new Error('no command: the image has no Cmd or Entrypoint and the request gave none');
  }
  const user = resolveUser(spec.user ?? image.config.user, image.lowerdirs);
  const hostname = hostnameOf(c);
  const mounts: ShimMount[] = [
    ...[...spec.binds, ...(c.options.volumeMounts ?? [])].map((b): ShimMount => ({
      type: 'bind',
      source: b.source,
      destination: b.target,
      readonly: b.readOnly,
    })),
    ...spec.tmpfs.map((t): ShimMount => ({ type: 'tmpfs', destination: t.target, sizeBytes: t.sizeBytes })),
  ];
  // Parents before children (Docker sorts by depth): `-v a:/data -v b:/data/sub` needs /data first.
  mounts.sort((a, b) => depth(a.destination) - depth(b.destination));
  return {
    mode: 'run',
    rootfs: files.rootfs,
    overlay: { lowerdirs: image.lowerdirs, upperdir: files.upper, workdir: files.work },
    readonlyRootfs: spec.readOnlyRootfs,
    hostname,
    network: networkOf(spec),
    ...(spec.sysctls && { sysctls: spec.sysctls }),
    etcFiles: { hostname: files.hostnameFile, hosts: files.hostsFile, resolvConf: files.resolvConfFile },
    mounts,
    process: {
      args,
      env: environment(spec, image, hostname, user.home),
      cwd: spec.workingDir ?? image.config.workingDir ?? '/',
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids,
      capAdd: spec.capAdd,
      capDrop: spec.capDrop,
      seccomp: seccompOf(spec),
      rlimits: rlimitsOf(spec),
    },
  };
}
