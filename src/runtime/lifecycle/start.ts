import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { classifyError, WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { Syscalls } from '../../platform/ffi';
import { ShimError, shimFailureCode, type ExitStatus } from '../shim/launch-shim';
import { auditContainer, type ContainerRecord } from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { ContainerLauncher } from '../container/container-launcher';
import { ContainerLog, logSize } from '../container/container-log';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { cgroupLimits } from '../container/run-config';
import { SYSCALLS } from '../container/runtime.tokens';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { ExitRecorder } from './exit';
import { killCgroup, openPidfd } from './process-signals';
import { RemoveVerb } from './remove';
import { RestartScheduler } from './restart-scheduler';
import { SYSTEM_CALLER } from './system-caller';
import { checkTransition, fromStates, stateConflict } from './transitions';
import { formatRestartPolicy } from '../../policy';
import { HealthMonitor } from '../health/health-monitor';

/** How long a start waits for its waiting attach sessions to connect before it lets go. */
const ATTACH_BEFORE_EXEC_MS = 1000;

/**
 * start: created | exited → running. The container's cgroup with its limits → the shim
 * (namespaces, rootfs, caps) placed in the cgroup before anything runs → recorded running
 * (guarded) → watched until exit (ExitRecorder). A start that fails records the exit (127/126
 * for a command that cannot run, as Docker) and answers why. The restart policy starts a
 * `restarting` container through the same steps (`by: 'policy'`), without resetting its count.
 */
@Injectable()
export class StartVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly launcher: ContainerLauncher,
    private readonly exits: ExitRecorder,
    private readonly remove: RemoveVerb,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly restarts: RestartScheduler,
    private readonly health: HealthMonitor,
  ) {
    restarts.starter = (c) => this.startLocked(SYSTEM_CALLER, c, 'policy');
  }

  /** Attachers (docker attach) subscribe with LiveContainers.onStarted before calling this. */
  async start(caller: Caller, ref: string): Promise<ContainerRecord> {
    // A container whose start is prepared here is `created`, as its record says: no read.
    const scope = scopeOf(caller.principal);
    const held = this.launcher.held(ref);
    const seen = held ? this.refs.visible(held, ref, scope) : await this.refs.resolve(ref, scope);
    return this.locks.run(seen.id, async (waited) =>
      this.startLocked(
        caller,
        await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live),
      ),
    );
  }

  /** The transition itself; the caller holds the container's lock. */
  async startLocked(
    caller: Caller,
    c: ContainerRecord,
    by: 'client' | 'policy' = 'client',
  ): Promise<ContainerRecord> {
    const verb = by === 'policy' ? 'policy' : 'start';
    checkTransition(c, verb);
    if (by === 'client') this.restarts.reset(c.id);
    // The previous run's exit may still be cleaning up (its cgroup goes after its row says
    // exited): the new run's cgroup has the same name.
    await this.live.get(c.id)?.finished.catch(() => undefined);
    // Throws when the command is invalid or no cgroup can be made: nothing was started.
    const logPath = new ContainerFiles(this.config.dataDir, c.id).log;
    const logStart = logSize(logPath); // this run's output (written by its shim) begins here
    // Fail closed, absolutely: the start is on the record (its event acknowledged by Redis)
    // while the process still waits before execve; if it cannot be, the process is aborted and
    // the command never runs (REDIS_UNAVAILABLE, 503). A command that then fails to exec is
    // recorded as this start's `container.died` (127/126).
    const launch = await this.launcher.launch(c, caller, (pid) =>
      this.audit
        .record({
          type: 'container.started',
          principal: caller.principal.id,
          source: caller.source,
          subject: c.id,
          payload: {
            ...auditContainer(c),
            pid,
            limits: cgroupLimits(c.spec),
            // Each restart by the policy is this event, with the count it reached.
            ...(by === 'policy'
              ? {
                  restart: {
                    policy: formatRestartPolicy(c.spec.restartPolicy),
                    restartCount: c.restartCount,
                  },
                }
              : {}),
          },
        })
        // Then the attach sessions waiting for this start (docker run in the foreground)
        // connect to the shim, bound since READY: they get the output from its first byte.
        .then(() => this.live.ready(c.id, ATTACH_BEFORE_EXEC_MS)),
    );
    if ('failed' in launch) return this.failed(caller, c, launch.failed, verb);
    const { cgroup, launched } = launch;
    const log = new ContainerLog(logPath, logStart);
    const entry = {
      id: c.id,
      process: launched,
      pidfd: openPidfd(this.sys, launched.pid),
      cgroup,
      log,
      stopping: false,
      startedAtMs: Date.now(),
      finished: undefined as unknown as Promise<ExitStatus>,
      // A short command can exit before this lands: the exit waits for it, so the row never
      // goes exited → running.
      recorded: this.repo
        .markRunning(c.id, launched.pid, launched.shimPid, fromStates(verb), by === 'client')
        .then((row) => [row] as const),
    };
    const exiting = () => Object.assign(entry, { exiting: true });
    entry.finished = launched.exited.then(
      (status) => this.exits.onExit(c, exiting(), status),
      (err) => this.exits.onExit(c, exiting(), { exitCode: 128, signal: null }, (err as Error).message),
    );
    this.live.set(entry);
    // Same tick as the log's first read: attachers see the stdio before any output was delivered.
    this.live.started(entry);
    // The row as markRunning left it (RETURNING): no second read.
    let running: ContainerRecord | undefined;
    try {
      [running] = await entry.recorded;
    } catch (err) {
      // The row cannot say running (PostgreSQL down): the run does not go on. Killed at once;
      // its exit is recorded once the database is back.
      entry.stopping = true;
      await killCgroup(cgroup, 'SIGKILL').catch(() => undefined);
      throw err;
    }
    if (running) {
      this.health.begin(running, entry.startedAtMs);
      return running;
    }
    // The guard did not hold: the row changed where this process's lock does not reach
    // (another Warden on the database). What was started must not outlive the answer.
    entry.stopping = true;
    await killCgroup(cgroup, 'SIGKILL').catch(() => undefined);
    await entry.finished.catch(() => undefined);
    throw await this.refs.conflict(c, (now) => stateConflict(now, 'start'));
  }

  private async failed(
    caller: Caller,
    c: ContainerRecord,
    err: unknown,
    verb: 'start' | 'policy',
  ): Promise<never> {
    const shimErr = err instanceof ShimError ? err : undefined;
    // Docker's exit codes for a command that cannot run: 127 not found, 126 not executable.
    const exitCode = shimErr?.step.startsWith('exec') ? (shimErr.code === 'ENOENT' ? 127 : 126) : 128;
    const message = shimErr ? `failed to start container: ${shimErr.message}` : (err as Error).message;
    const marked = await this.repo.markExited(
      c.id,
      { exitCode, oomKilled: false, error: message },
      fromStates(verb),
    );
    if (marked) {
      await this.exits.recordDied(c, { exitCode, signal: null }, false, message);
      this.live.notify(c.id, 'exited', { exitCode, oomKilled: false });
      // As Docker: an auto-remove container goes even when it never ran (`docker run --rm`
      // waits for the removal after a failed start).
      if (c.options.autoRemove)
        await this.remove.removeLocked(caller, { ...marked, exitCode }, true).catch(() => undefined);
    }
    throw new WardenError(
      shimErr ? shimFailureCode(shimErr) : (classifyError(err)?.code ?? 'CONTAINER_START_FAILED'),
      message,
      { id: c.id, step: shimErr?.step, errno: shimErr?.code, exitCode },
      { cause: err },
    );
  }
}
