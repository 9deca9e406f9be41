import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { parseImageReference } from '../../policy';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { launchShim, ShimError, type LaunchedProcess } from '../shim/launch-shim';
import { ContainerInspector } from './container-inspector';
import { ImageProvider } from '../../images';
import { environment, hostnameOf } from './run-config';
import { SYSCALLS } from './runtime.tokens';
import type { Syscalls } from '../../platform/ffi';
import { resolveUser } from './resolve-user';

export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
}

/**
 * A process in a running container: the shim joins PID 1's namespaces, is placed in the
 * container's cgroup, and gets the same capability set and no_new_privs as PID 1.
 */
@Injectable()
export class ExecService {
  constructor(
    private readonly inspector: ContainerInspector,
    private readonly images: ImageProvider,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
  ) {}

  async launch(
    caller: Caller,
    ref: string,
    req: ExecRequest,
    stdin: boolean,
  ): Promise<{ process: LaunchedProcess; containerId: string }> {
    const { c, live } = await this.inspector.running(ref);
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
      process = await launchShim(
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
          },
        },
        {
          placeInCgroups: (pid) => live.cgroup.addProcess(pid),
          stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
          syscalls: this.sys,
        },
      );
    } catch (err) {
      if (err instanceof ShimError) {
        throw new WardenError(
          err.step.startsWith('exec') ? 'CONTAINER_COMMAND_INVALID' : 'CONTAINER_START_FAILED',
          `exec failed: ${err.message}`,
          {
            step: err.step,
            errno: err.code,
          },
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
