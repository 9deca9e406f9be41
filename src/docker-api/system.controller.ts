import { Inject, Injectable } from '@nestjs/common';
import * as os from 'node:os';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { ImagesService } from '../images';
import { CGROUP_DRIVER, ContainerService } from '../runtime';
import type { CgroupDriver } from '../runtime';
import { DockerReply, DockerRequest, DockerRouter } from './docker-http';

/**
 * What the engine announces. 1.47 is Docker 27's API: every field the CLI 28 reads for the
 * commands Warden serves exists there, and a client offering more negotiates down to it.
 */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
export const WARDEN_VERSION = '0.1.0';

const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

export function pingHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    OSType: 'linux',
    'Docker-Experimental': 'false',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    Swarm: 'inactive',
  };
}

/** `_ping`, `version`, `info`. */
@Injectable()
export class DockerSystemController {
  constructor(
    private readonly containers: ContainerService,
    private readonly images: ImagesService,
    @Inject(CGROUP_DRIVER) private readonly cgroups: CgroupDriver,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  register(r: DockerRouter): void {
    r.add('GET', '/version', (q, s) => this.version(q, s)).add('GET', '/info', (q, s) => this.info(q, s));
  }

  private async version(req: DockerRequest, reply: DockerReply): Promise<void> {
    await req.caller();
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: ARCH[process.arch] ?? process.arch,
      KernelVersion: os.release(),
    };
    reply.json(200, {
      Platform: { Name: 'Warden' },
      Components: [
        {
          Name: 'Engine',
          Version: WARDEN_VERSION,
          Details: { ...details, GitCommit: '', Experimental: 'false' },
        },
      ],
      Version: WARDEN_VERSION,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      BuildTime: '',
      ...details,
    });
  }

  private async info(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    // What this caller may see: a deployer's counts are its teams' (platform/scope).
    const [all, images] = await Promise.all([
      this.containers.list(caller, { all: true }),
      this.images.list(caller),
    ]);
    const count = (s: string) => all.filter((c) => c.state === s).length;
    reply.json(200, {
      ID: this.config.runtime.node,
      Containers: all.length,
      ContainersRunning: count('running'),
      ContainersPaused: 0,
      ContainersStopped: all.length - count('running'),
      Images: images.length,
      Driver: 'overlay',
      DriverStatus: [['Backing Filesystem', 'overlayfs']],
      Plugins: { Volume: [], Network: ['host', 'none'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      OomKillDisable: false,
      IPv4Forwarding: false,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: this.cgroups.mode === 'v2' ? '2' : '1',
      // What every container gets unless a policy lets a request change it (docs/security.md).
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=no-new-privileges', 'name=cgroupns'],
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: `Warden ${WARDEN_VERSION}`,
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.machine(),
      IndexServerAddress: '',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: this.config.dataDir,
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: WARDEN_VERSION,
      Runtimes: { warden: { path: 'warden-shim' } },
      DefaultRuntime: 'warden',
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      Warnings: ['WARNING: Warden has no bridge network: containers run with network none or host'],
    });
  }
}
