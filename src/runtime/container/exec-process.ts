import { parseImageReference } from '../../policy';
import { WardenError } from '../../platform/errors';
import type { Syscalls } from '../../platform/ffi';
import { ImageProvider } from '../../images';
import type { LaunchedProcess, StdioEntry } from '../shim/launch-shim';
import type { ShimRunner } from '../shim/shim-runner';
import type { ContainerRecord } from './container';
import type { LiveContainer } from './live-containers';
import { resolveUser } from './resolve-user';
import { environment, hostnameOf, rlimitsOf, seccompOf } from './run-config';

/** A process to run in a running container: a client's exec, or a health check's probe. */
export interface ExecProcessRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
}

/**
 * Starts `req` in `c`'s running process's namespaces (the shim's exec mode): placed in its
 * cgroup, with PID 1's capability set, seccomp filter, rlimits and no_new_privs, as the
 * container's user unless it names another. Throws ShimError when it cannot start.
 */
export async function spawnInContainer(
  deps: { images: ImageProvider; shim: ShimRunner; sys: Syscalls },
  c: ContainerRecord,
  live: LiveContainer,
  req: ExecProcessRequest,
  stdio: [StdioEntry, StdioEntry, StdioEntry],
): Promise<LaunchedProcess> {
  const parsed = parseImageReference(c.image);
  const image = parsed.ok ? await deps.images.prepare(parsed.ref) : undefined;
  const lowerdirs = image?.lowerdirs ?? [];
  let user;
  try {
    user = resolveUser(req.user ?? c.spec.user ?? image?.config.user, lowerdirs);
  } catch (err) {
    throw new WardenError('CONTAINER_COMMAND_INVALID', (err as Error).message);
  }
  const env = image
    ? environment({ ...c.spec, env: [...c.spec.env, ...(req.env ?? [])] }, image, hostnameOf(c), user.home)
    : [...c.spec.env, ...(req.env ?? [])];
  return deps.shim.launch(
    {
      mode: 'exec',
      targetPid: live.process.pid,
      process: {
        args: req.cmd,
        env,
        cwd: req.workingDir ?? c.spec.workingDir ?? image?.config.workingDir ?? '/',
        uid: user.uid,
        gid: user.gid,
        additionalGids: user.additionalGids,
        capAdd: c.spec.capAdd,
        capDrop: c.spec.capDrop,
        seccomp: seccompOf(c.spec),
        rlimits: rlimitsOf(c.spec),
      },
    },
    { placeInCgroups: (pid) => live.cgroup.addProcess(pid), stdio, syscalls: deps.sys },
  );
}
