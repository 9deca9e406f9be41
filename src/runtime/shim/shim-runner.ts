import type { ShimConfig } from './shim-protocol';
import {
  launchShim,
  prepareShim,
  type LaunchedProcess,
  type LaunchShimOptions,
  type PreparedShim,
} from './launch-shim';

/**
 * The seam between the lifecycle and the processes it starts: the launcher and exec start
 * every container process through this, so the fast test tier (test/fast) can put a fake shim
 * in its place and drive the whole lifecycle without root, namespaces or a kernel cgroup.
 */
export interface ShimRunner {
  /** Resolves once the process has exec'd; rejects (ShimError) with nothing left running. */
  launch(config: ShimConfig, options: LaunchShimOptions): Promise<LaunchedProcess>;
  /** Everything up to execve, then waits for `go()` (see prepareShim). */
  prepare(config: ShimConfig & { mode: 'run' }, options: LaunchShimOptions): Promise<PreparedShim>;
}

/** The real one: native/shim's warden-shim. */
export const nativeShimRunner: ShimRunner = { launch: launchShim, prepare: prepareShim };
