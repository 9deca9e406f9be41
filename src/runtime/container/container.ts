import type { EndpointRequest } from '../../network';
import type { ContainerSpec } from '../../policy';
import type { ResolvedVolumeMount } from '../../volumes';

export type ContainerState = 'created' | 'running' | 'paused' | 'exited' | 'dead';

/** How to run it, beyond what policy judges: Docker's run options that carry no privilege. */
export interface ContainerOptions {
  autoRemove: boolean;
  openStdin: boolean;
  hostname?: string;
  /** Per-network settings (`--ip`, `--network-alias`) and further networks to join, by name. */
  endpoints?: Record<string, EndpointRequest>;
  /** The image reference as the request wrote it (Docker's Config.Image); `image` is normalised. */
  imageAsGiven?: string;
  /** The volumes it mounts, resolved at create (named, anonymous, the image's `VOLUME`s). */
  volumeMounts?: ResolvedVolumeMount[];
}

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageDigest?: string;
  /** The effective spec: the request after policy defaults; what the runtime applies. */
  spec: ContainerSpec;
  options: ContainerOptions;
  policyVersion?: string;
  state: ContainerState;
  pid?: number;
  shimPid?: number;
  node: string;
  exitCode?: number;
  oomKilled: boolean;
  error?: string;
  restartCount: number;
  createdBy: string;
  /** The team that owns it (null: its creator alone); see platform/scope. */
  team: string | null;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  labels: Record<string, string>;
}

/** Docker's rule for names. */
export const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** What every container audit event says about the container. */
export const auditContainer = (c: ContainerRecord) => ({
  name: c.name,
  image: c.image,
  imageDigest: c.imageDigest ?? null,
});
