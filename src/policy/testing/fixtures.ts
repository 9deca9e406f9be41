import type { CheckContext } from '../checks/check-result';
import type { ContainerSpec } from '../spec/container-spec';
import type { VolumeSpec } from '../spec/volume-spec';

/** Shared by the unit tests: the smallest valid spec; each test changes one thing. */
export function minimalSpec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: { registry: 'corp.io', repository: 'team/app', tag: '1.2.3' },
    command: [],
    env: [],
    labels: {},
    privileged: false,
    capAdd: [],
    capDrop: [],
    hostNamespaces: { pid: false, ipc: false, net: false, uts: false },
    networkMode: 'none',
    ports: [],
    binds: [],
    volumes: [],
    tmpfs: [],
    devices: [],
    readOnlyRootfs: false,
    ...overrides,
  };
}

/** The smallest volume: local, no options; each test changes one thing. */
export function minimalVolume(overrides: Partial<VolumeSpec> = {}): VolumeSpec {
  return { name: 'data', driver: 'local', options: {}, labels: {}, ...overrides };
}

export const ctx: CheckContext = { policyName: 'prod' };

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const DIGEST = `sha256:${'a'.repeat(64)}`;
