import { parseImageReference } from '../../policy';
import { WardenError } from '../../platform/errors';
import type { Syscalls } from '../../platform/ffi';
import { ImageProvider } from '../../images';
import type { LaunchedProcess, StdioEntry } from '../shim/launch-shim';
import type { ShimRunner } from '../shim/shim-runner';
import type { ContainerRecord } from '../container/container';
import type { LiveContainer } from '../container/live-containers';
import { resolveUser, type ResolvedUser } from '../container/resolve-user';
import { environment, hostnameOf, rlimitsOf, seccompOf } from '../container/run-config';

/**
 * The one way a process is started in a running container: a client's exec
 * (`lifecycle/exec.ts`, after its policy decision) and a health check's probe
 * (`health/probe-runner.ts`, Warden's own) both resolve it here and spawn it here, so the two
 * cannot drift apart in user, environment, capabilities, seccomp or rlimits.
 */
export interface ExecProcessRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  /** A terminal and its first size (`exec -t`). */
  tty?: { rows: number; cols: number };
}

/** Who the process runs as, with what environment, where: decided before the launch. */
export interface ExecProcess {
  user: ResolvedUser;
  env: string[];
  cwd: string;
}

/**
 * The process's user (the request's, else the container's, else the image's), environment
 * (the container's with the request's added, as `docker exec -e`) and working directory.
 * A user that does not resolve in the image is the client's mistake (400).
 */
export async function resolveExecProcess(
  images: ImageProvider,
  c: ContainerRecord,
  req: ExecProcessRequest,
): Promise<ExecProcess> {
  const parsed = parseImageReference(c.image);
  const image = parsed.ok ? await images.prepare(parsed.ref) : undefined;
  let user;
  try {
    user = resolveUser(req.user ?? c.spec.user ?? image?.config.user, image?.lowerdirs ?? []);
  } catch (err) {
    throw new WardenError('CONTAINER_COMMAND_INVALID', (err as Error).message);
  }
  const env = image
    ? environment({ ...c.spec, env: [...c.spec.env, ...(req.env ?? [])] }, image, hostnameOf(c), user.home)
    : [...c.spec.env, ...(req.env ?? [])];
  const cwd = req.workingDir ?? c.spec.workingDir ?? image?.config.workingDir ?? '/';
  return { user, env, cwd };
}

/**
 * Starts the process in `c`'s running process's namespaces (the shim's exec mode): placed in
 * its cgroup, with PID 1's capability set, seccomp filter, rlimits and no_new_privs. Throws
 * ShimError when it cannot start.
 */
export function spawnExec(
  deps: { shim: ShimRunner; sys: Syscalls },
  c: ContainerRecord,
  live: LiveContainer,
  req: ExecProcessRequest,
  proc: ExecProcess,
  stdio: [StdioEntry, StdioEntry, StdioEntry],
): Promise<LaunchedProcess> {
  return deps.shim.launch(
    {
      mode: 'exec',
      targetPid: live.process.pid,
      process: {
        args: req.cmd,
        env: proc.env,
        cwd: proc.cwd,
        uid: proc.user.uid,
        gid: proc.user.gid,
        additionalGids: proc.user.additionalGids,
        capAdd: c.spec.capAdd,
        capDrop: c.spec.capDrop,
        seccomp: seccompOf(c.spec),
        rlimits: rlimitsOf(c.spec),
        ...(req.tty && { terminal: req.tty }),
      },
    },
    { placeInCgroups: (pid) => live.cgroup.addProcess(pid), stdio, syscalls: deps.sys },
  );
}
