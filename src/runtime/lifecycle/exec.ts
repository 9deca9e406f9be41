import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { parseImageReference } from '../../policy';
import { WardenError } from '../../platform/errors';
import type { ContainerRecord } from '../container/container';
import type { LiveContainer } from '../container/live-containers';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { ShimError, shimFailureCode, type LaunchedProcess } from '../shim/launch-shim';
import type { ShimRunner } from '../shim/shim-runner';
import { ImageProvider } from '../../images';
import { LiveContainers } from '../container/live-containers';
import { environment, hostnameOf, rlimitsOf, seccompOf } from '../container/run-config';
import { SHIM_RUNNER, SYSCALLS } from '../container/runtime.tokens';
import type { Syscalls } from '../../platform/ffi';
import { resolveUser } from '../container/resolve-user';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { liveEntry } from './kill';
import { checkTransition, stateConflict } from './transitions';

/** How long a failed exec waits to learn whether the container's process ended under it. */
const EXIT_GRACE_MS = 200;

export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
}

/**
 * exec: running → running. A process in a running container: the shim joins PID 1's
 * namespaces, is placed in the container's cgroup, and gets the same capability set and
 * no_new_privs as PID 1. The launch holds the container's lock (a stop or kill under way
 * finishes first, and the exec then answers 409); the process then runs on its own.
 */
@Injectable()
export class ExecService {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly live: LiveContainers,
    private readonly images: ImageProvider,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(SHIM_RUNNER) private readonly shim: ShimRunner,
  ) {}

  async launch(
    caller: Caller,
    ref: string,
    req: ExecRequest,
    stdin: boolean,
  ): Promise<{ process: LaunchedProcess; containerId: string }> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      const c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      checkTransition(c, 'exec');
      return this.launchLocked(caller, c, liveEntry(this.live, c, 'exec'), req, stdin);
    });
  }

  private async launchLocked(
    caller: Caller,
    c: ContainerRecord,
    live: LiveContainer,
    req: ExecRequest,
    stdin: boolean,
  ): Promise<{ process: LaunchedProcess; containerId: string }> {
    const parsed = parseImageReference(c.image);
    const image = parsed.ok ? await this.images.prepare(parsed.ref) : undefined;
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
    let process: LaunchedProcess;
    try {
      process = await this.shim.launch(
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
        {
          placeInCgroups: (pid) => live.cgroup.addProcess(pid),
          stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
          syscalls: this.sys,
        },
      );
    } catch (err) {
      // The container's process ended while the exec joined it (its exit may take a moment to
      // arrive): the container's state, not a server fault.
      await Promise.race([live.finished, new Promise((r) => setTimeout(r, EXIT_GRACE_MS))]).catch(
        () => undefined,
      );
      if (live.stopping || live.exiting || this.live.get(c.id) !== live)
        throw stateConflict({ ...c, state: 'exited' }, 'exec', 'its process ended during the exec');
      if (err instanceof ShimError) {
        throw new WardenError(
          shimFailureCode(err),
          `exec failed: ${err.message}`,
          {
            step: err.step,
            errno: err.code,
          },
          { cause: err },
        );
      }
      throw err;
    }
    await this.audit.record({
      type: 'api.call',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: { action: 'container.exec', cmd: req.cmd, user: req.user ?? null, pid: process.pid },
    });
    return { process, containerId: c.id };
  }

  /** Runs to completion and answers the exit code with the output (REST; output capped at 1 MiB per stream). */
  async run(
    caller: Caller,
    ref: string,
    req: ExecRequest,
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const { process } = await this.launch(caller, ref, req, false);
    const collect = (s: NodeJS.ReadableStream | null) =>
      new Promise<string>((resolve) => {
        if (!s) return resolve('');
        let out = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          if (out.length < 1 << 20) out += d;
        });
        s.on('end', () => resolve(out));
        s.on('error', () => resolve(out));
      });
    const [stdout, stderr, status] = await Promise.all([
      collect(process.stdout),
      collect(process.stderr),
      process.exited,
    ]);
    return { exitCode: status.exitCode, stdout, stderr };
  }
}
