import type { EndpointRequest } from '../../network';
import type { ContainerSpec } from '../../policy';
import type { ResolvedVolumeMount } from '../../volumes';

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead';

/** Docker's HealthConfig (durations in nanoseconds, as the Engine API has them). */
export interface HealthcheckConfig {
  /** `["NONE"]`, `["CMD", arg…]` or `["CMD-SHELL", command]`. */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

/** One probe's result as inspect shows it (State.Health.Log). */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** State.Health as Docker's inspect shows it. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

/** How to run it, beyond what policy judges: Docker's run options that carry no privilege. */
export interface ContainerOptions {
  autoRemove: boolean;
  openStdin: boolean;
  /** Docker's StdinOnce: the end of the first attached client's stdin closes the container's. */
  stdinOnce?: boolean;
  /** A terminal (`-t`): the process gets a pty; attach streams are raw, not multiplexed. */
  tty?: boolean;
  /** The terminal's first size, [rows, cols] (HostConfig.ConsoleSize). */
  consoleSize?: [number, number];
  hostname?: string;
  /** Per-network settings (`--ip`, `--network-alias`) and further networks to join, by name. */
  endpoints?: Record<string, EndpointRequest>;
  /** `-P` (Docker's HostConfig.PublishAllPorts): kept so inspect shows it as asked. */
  publishAllPorts?: boolean;
  /** The image reference as the request wrote it (Docker's Config.Image); `image` is normalised. */
  imageAsGiven?: string;
  /** The volumes it mounts, resolved at create (named, anonymous, the image's `VOLUME`s). */
  volumeMounts?: ResolvedVolumeMount[];
  /** The health check: the request's merged over the image's HEALTHCHECK at create. */
  healthcheck?: HealthcheckConfig;
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
  /** Restarts by the restart policy since the last start by a client (Docker's RestartCount). */
  restartCount: number;
  /** A client stopped or killed it: `unless-stopped` leaves it down, also when Warden starts. */
  manuallyStopped: boolean;
  health?: HealthState;
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
