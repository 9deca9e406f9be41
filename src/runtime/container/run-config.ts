import type { ContainerSpec } from '../../policy';
import type { CgroupLimits } from '../cgroups';
import type { ShimMount, ShimRunConfig } from '../shim/shim-protocol';
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

export function networkOf(spec: ContainerSpec): 'none' | 'host' {
  return spec.networkMode === 'host' || spec.hostNamespaces.net ? 'host' : 'none';
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
    },
  };
}
