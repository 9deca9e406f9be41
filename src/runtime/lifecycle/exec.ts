import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { AuditService } from '../../audit';
import { parseImageReference, PolicyService } from '../../policy';
import type { Decision, ExecSpec } from '../../policy';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { ContainerRecord } from '../container/container';
import type { LiveContainer } from '../container/live-containers';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { ShimError, shimFailureCode, type LaunchedProcess } from '../shim/launch-shim';
import type { ShimRunner } from '../shim/shim-runner';
import { ImageProvider } from '../../images';
import { LiveContainers } from '../container/live-containers';
import { SHIM_RUNNER, SYSCALLS } from '../container/runtime.tokens';
import type { Syscalls } from '../../platform/ffi';
import type { ResolvedUser } from '../container/resolve-user';
import { resolveExecProcess, spawnExec } from '../exec/exec-process';
import { recordingPath, SessionRecorder } from '../exec/session-recorder';
import { streamsDone } from '../exec/streams-done';
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
  privileged?: boolean;
  /** A terminal (`exec -t`) and its first size: stdout carries it raw, resize() sizes it. */
  tty?: { rows: number; cols: number };
}

/** An exec the policy allowed, not started yet (Docker's exec create). */
export interface PreparedExec {
  id: string;
  containerId: string;
  caller: Caller;
  req: ExecRequest;
  user: ResolvedUser;
  env: string[];
  cwd: string;
  decision: Decision;
  recording?: { maxBytes: number };
}

/** A started exec: its process, and the transcript the relay feeds when the policy asks for one. */
export interface StartedExec {
  id: string;
  containerId: string;
  process: LaunchedProcess;
  /** Present when the session is recorded: the relay passes every chunk it relays through it. */
  recorder?: SessionRecorder;
}

/**
 * exec: running → running. A process in a running container: the shim joins PID 1's
 * namespaces, is placed in the container's cgroup, and gets the same capability set and
 * no_new_privs as PID 1. A user's exec is a launch (issue 15): `prepare` judges it by the
 * caller's policy and records the decision (403 with the reasons on a denial); `start` runs it
 * under the container's lock (a stop or kill under way finishes first, and the exec then
 * answers 409) and audits its start and its end with the exit code and the transcript's hash.
 * Health probes spawn the same way (`exec/exec-process.ts`) without the policy and the per-exec
 * events: they are Warden's own, run for what the container's spec asked.
 */
@Injectable()
export class ExecService {
  private readonly log = new Logger(ExecService.name);

  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly live: LiveContainers,
    private readonly images: ImageProvider,
    private readonly audit: AuditService,
    private readonly policy: PolicyService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(SHIM_RUNNER) private readonly shim: ShimRunner,
  ) {}

  /** Judges a user's exec by the caller's policy; the decision is on the record before it returns. */
  async prepare(caller: Caller, ref: string, req: ExecRequest): Promise<PreparedExec> {
    const c = await this.refs.settled(await this.refs.resolve(ref, scopeOf(caller.principal)), this.live);
    checkTransition(c, 'exec');
    const { user, env, cwd } = await this.processOf(c, req);
    const id = randomBytes(32).toString('hex');
    const parsed = parseImageReference(c.image);
    const spec: ExecSpec = {
      container: {
        id: c.id,
        name: c.name,
        image: parsed.ok ? parsed.ref : { registry: '', repository: c.image },
        labels: c.spec.labels,
      },
      cmd: req.cmd,
      user: req.user ?? c.spec.user ?? '',
      uid: user.uid,
      env: req.env ?? [],
      privileged: req.privileged ?? false,
      tty: !!req.tty,
    };
    const { decision, obligations } = await this.policy.decideExec(caller, id, spec);
    if (!decision.allowed)
      throw new WardenError('EXEC_DENIED', decision.reasons.map((r) => r.message).join('; '), {
        policy: decision.policy,
        policyVersion: decision.policyVersion,
        reasons: decision.reasons,
      });
    // Allowed by policy is not the same as possible here: no privileged processes in this runtime.
    if (req.privileged)
      throw new WardenError('CONTAINER_COMMAND_INVALID', 'privileged exec is not supported by this runtime');
    return { id, containerId: c.id, caller, req, user, env, cwd, decision, ...obligations };
  }

  /** Starts a prepared exec; its end is audited once the process exits and its output is relayed. */
  async start(p: PreparedExec, stdin: boolean): Promise<StartedExec> {
    // The transcript exists before the process does: a session the policy requires recorded
    // never runs unrecorded (a data dir that cannot take the file refuses the exec).
    const recorder = p.recording
      ? new SessionRecorder(recordingPath(this.config.dataDir, p.id), p.recording.maxBytes, {
          title: `${p.req.cmd.join(' ')}`.slice(0, 256),
          warden: { execId: p.id, container: p.containerId, user: p.req.user ?? null, tty: !!p.req.tty },
        })
      : undefined;
    let process: LaunchedProcess;
    try {
      process = await this.locks.run(p.containerId, async () => {
        const c = await this.refs.settled(
          await this.refs.current({ id: p.containerId, name: p.containerId }),
          this.live,
        );
        checkTransition(c, 'exec');
        return this.launchLocked(c, liveEntry(this.live, c, 'exec'), p, stdin);
      });
    } catch (err) {
      if (recorder) {
        recorder.close();
        fs.rmSync(recorder.file, { force: true });
      }
      throw err;
    }
    const base = {
      execId: p.id,
      cmd: p.req.cmd,
      user: p.req.user ?? null,
      uid: p.user.uid,
      tty: !!p.req.tty,
    };
    await this.audit.record({
      type: 'exec.started',
      principal: p.caller.principal.id,
      source: p.caller.source,
      subject: p.containerId,
      payload: { ...base, pid: process.pid, recorded: !!recorder },
    });
    const began = Date.now();
    void (async () => {
      const status = await process.exited;
      await streamsDone(process);
      const recording = recorder?.close();
      await this.audit.record({
        type: 'exec.ended',
        principal: p.caller.principal.id,
        source: p.caller.source,
        subject: p.containerId,
        payload: {
          ...base,
          exitCode: status.exitCode,
          durationMs: Date.now() - began,
          recording: recording ?? null,
        },
      });
    })().catch((err: Error) => this.log.error(`exec ${p.id}: its end was not recorded: ${err.message}`));
    return { id: p.id, containerId: p.containerId, process, recorder };
  }

  /** Prepares and starts in one go, runs to completion and answers the exit code with the output (REST; 1 MiB per stream). */
  async run(
    caller: Caller,
    ref: string,
    req: ExecRequest,
  ): Promise<{ execId: string; exitCode: number; stdout: string; stderr: string }> {
    const { id, process, recorder } = await this.start(await this.prepare(caller, ref, req), false);
    const collect = (name: 'stdout' | 'stderr') =>
      new Promise<string>((resolve) => {
        const s = process[name];
        if (!s) return resolve('');
        let out = '';
        s.on('data', (d: Buffer) => {
          recorder?.output(name, d); // the transcript's tee for REST exec
          if (out.length < 1 << 20) out += d.toString('utf8');
        });
        s.on('end', () => resolve(out));
        s.on('error', () => resolve(out));
      });
    const [stdout, stderr, status] = await Promise.all([
      collect('stdout'),
      collect('stderr'),
      process.exited,
    ]);
    return { execId: id, exitCode: status.exitCode, stdout, stderr };
  }

  private processOf(c: ContainerRecord, req: ExecRequest) {
    return resolveExecProcess(this.images, c, req);
  }

  private async launchLocked(
    c: ContainerRecord,
    live: LiveContainer,
    p: PreparedExec,
    stdin: boolean,
  ): Promise<LaunchedProcess> {
    try {
      return await spawnExec({ shim: this.shim, sys: this.sys }, c, live, p.req, p, [
        stdin ? 'pipe' : 'ignore',
        'pipe',
        'pipe',
      ]);
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
          { step: err.step, errno: err.code },
          { cause: err },
        );
      }
      throw err;
    }
  }
}
