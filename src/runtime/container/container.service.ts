import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService, UsageService, type UsageSample } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { untilAvailable, WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import type { CgroupHandle } from '../cgroups';
import type { Syscalls } from '../../platform/ffi';
import { ShimError, type ExitStatus } from '../shim/launch-shim';
import { ContainerRecord, auditContainer } from './container';
import { ContainerCreator, CreateRequest } from './create-container';
import { ContainerFiles } from './container-files';
import { ContainerLog } from './container-log';
import { ContainerFilter, ContainerRepository } from './container.repository';
import { LiveContainers, type ExitNotice, WaitCondition } from './live-containers';
import { cgroupLimits } from './run-config';
import { ContainerLauncher } from './container-launcher';
import { SYSCALLS } from './runtime.tokens';
import { usageSample } from './usage-sampler';

export type { CreateRequest } from './create-container';

/**
 * Container lifecycle. Each verb reads as its steps; creation is decide → audit (by the
 * policy service, before anything exists) → image → files → record. A container's cgroup and
 * process exist while it runs (and, created, while its prepared start waits: ContainerLauncher);
 * its files until it is removed.
 */
@Injectable()
export class ContainerService implements BeforeApplicationShutdown {
  private readonly log = new Logger('runtime');

  constructor(
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly creator: ContainerCreator,
    private readonly launcher: ContainerLauncher,
    private readonly audit: AuditService,
    private readonly usageRecords: UsageService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  /** Decide → image → files → record → audit; see create-container.ts. */
  create(caller: Caller, req: CreateRequest): Promise<ContainerRecord> {
    return this.creator.create(caller, req);
  }

  /** By id, id prefix or name; 404 when none, 400 when a prefix is ambiguous. */
  async resolve(ref: string): Promise<ContainerRecord> {
    const found = await this.repo.findByRef(ref);
    if (found.length === 0)
      throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
    const exact = found.find((c) => c.id === ref || c.name === ref.replace(/^\//, ''));
    if (exact) return exact;
    if (found.length > 1)
      throw new WardenError('CONTAINER_AMBIGUOUS', `multiple containers match id prefix '${ref}'`, { ref });
    return found[0];
  }

  list(filter: ContainerFilter): Promise<ContainerRecord[]> {
    return this.repo.list(filter);
  }

  /**
   * Starts the container's process: cgroup with its limits → shim (namespaces, rootfs, caps)
   * placed in the cgroup before anything runs → recorded running → watched until exit.
   * Attachers (docker attach) subscribe with LiveContainers.onStarted before calling this.
   */
  async start(caller: Caller, ref: string): Promise<ContainerRecord> {
    const c = this.launcher.held(ref) ?? (await this.resolve(ref));
    if (c.state === 'running')
      throw new WardenError('CONTAINER_NOT_MODIFIED', `container ${c.name} is already running`);
    // Throws when the command is invalid or no cgroup can be made: nothing was started.
    const launch = await this.launcher.launch(c);
    if ('failed' in launch) {
      const err = launch.failed;
      const shimErr = err instanceof ShimError ? err : undefined;
      // Docker's exit codes for a command that cannot run: 127 not found, 126 not executable.
      const exitCode = shimErr?.step.startsWith('exec') ? (shimErr.code === 'ENOENT' ? 127 : 126) : 128;
      const message = shimErr ? `failed to start container: ${shimErr.message}` : (err as Error).message;
      await this.repo.markExited(c.id, { exitCode, oomKilled: false, error: message });
      await this.recordDied(c, { exitCode, signal: null }, false, message);
      this.live.notify(c.id, 'exited', { exitCode, oomKilled: false });
      // As Docker: an auto-remove container goes even when it never ran (`docker run --rm`
      // waits for the removal after a failed start).
      if (c.options.autoRemove) await this.removeRecord({ ...c, exitCode }, caller).catch(() => undefined);
      throw new WardenError(
        shimErr?.step.startsWith('exec') ? 'CONTAINER_COMMAND_INVALID' : 'CONTAINER_START_FAILED',
        message,
        { id: c.id, step: shimErr?.step, errno: shimErr?.code, exitCode },
        { cause: err },
      );
    }
    const { cgroup, launched } = launch;
    const log = new ContainerLog(new ContainerFiles(this.config.dataDir, c.id).log);
    if (launched.stdout) log.attach(launched.stdout, 'stdout');
    if (launched.stderr) log.attach(launched.stderr, 'stderr');
    const pidfd = this.openPidfd(launched.pid);
    const entry = {
      id: c.id,
      process: launched,
      pidfd,
      cgroup,
      log,
      stopping: false,
      finished: undefined as unknown as Promise<ExitStatus>,
      // A short command can exit before these land: onExit waits for them, so the row never
      // goes exited → running and the trail never has 'died' before 'started'.
      recorded: Promise.all([
        this.repo.markRunning(c.id, launched.pid, launched.shimPid),
        this.audit.record({
          type: 'container.started',
          principal: caller.principal.id,
          source: caller.source,
          subject: c.id,
          payload: { ...auditContainer(c), pid: launched.pid, limits: cgroupLimits(c.spec) },
        }),
      ]),
    };
    entry.finished = launched.exited.then(
      (status) => this.onExit(c, entry, status),
      (err) => this.onExit(c, entry, { exitCode: 128, signal: null }, (err as Error).message),
    );
    this.live.set(entry);
    // Same tick as log.attach: attachers see the stdio before any output has been read.
    this.live.started(entry);
    // The row as markRunning left it (RETURNING): no second read.
    const [running] = await entry.recorded;
    return running!;
  }

  /** The process ended: read OOM kills before the cgroup goes, record, wake waiters, auto-remove. */
  private async onExit(
    c: ContainerRecord,
    entry: {
      pidfd: number;
      cgroup: CgroupHandle;
      log: ContainerLog;
      process: { pid: number };
      recorded?: Promise<unknown>;
    },
    status: ExitStatus,
    error?: string,
  ): Promise<ExitStatus> {
    let oomKilled = false;
    let usage: Record<string, unknown> = {};
    let final: UsageSample | undefined;
    try {
      const stats = await entry.cgroup.stats();
      oomKilled = (stats.memory.oomKills ?? 0) > 0;
      usage = {
        cpuSeconds: stats.cpu.usageNs / 1e9,
        memoryPeakBytes: stats.memory.peakBytes,
        oomKills: stats.memory.oomKills,
        throttledPeriods: stats.cpu.nrThrottled,
      };
      final = usageSample(c, this.config.runtime.node, entry.process.pid, stats, true);
    } catch (err) {
      this.log.warn(`container ${c.id}: reading final stats failed: ${(err as Error).message}`);
    }
    try {
      this.sys.close(entry.pidfd);
    } catch {
      /* already closed */
    }
    await entry.recorded?.catch(() => undefined);
    // Independent writes (row, audit queue, usage queue), sent first so that the cgroup's
    // removal and the log's last lines overlap their round trips; all of it is done before
    // waiters are woken.
    // The exit happened whether or not PostgreSQL and Redis are up: retried until they are back.
    const retrying = (err: unknown) =>
      this.log.warn(`container ${c.id}: exit not recorded yet, retrying: ${(err as Error).message}`);
    const recorded = Promise.all([
      untilAvailable(
        () => this.repo.markExited(c.id, { exitCode: status.exitCode, oomKilled, error }),
        retrying,
      ),
      untilAvailable(() => this.recordDied(c, status, oomKilled, error, usage), retrying),
      final &&
        this.usageRecords
          .record(final)
          .catch((err) =>
            this.log.warn(`container ${c.id}: final usage not recorded: ${(err as Error).message}`),
          ),
    ]);
    recorded.catch(() => undefined); // awaited below, after the cleanup
    await entry.cgroup
      .destroy()
      .catch((err) => this.log.error(`container ${c.id}: cgroup cleanup failed: ${(err as Error).message}`));
    await Promise.race([entry.log.whenDrained(), new Promise((r) => setTimeout(r, 1000))]);
    entry.log.close();
    this.live.delete(c.id);
    await recorded;
    this.live.notify(c.id, 'exited', { exitCode: status.exitCode, oomKilled });
    // `c` is the record as it was at start: the removal's waiters need this exit's code.
    if (c.options.autoRemove)
      await this.removeRecord(
        { ...c, exitCode: status.exitCode },
        {
          principal: { id: 'system', role: 'admin', teams: [] },
          source: { via: 'system' },
        },
      );
    return status;
  }

  private recordDied(
    c: ContainerRecord,
    status: ExitStatus,
    oomKilled: boolean,
    error?: string,
    usage: Record<string, unknown> = {},
  ) {
    return this.audit.record({
      type: 'container.died',
      principal: 'system',
      source: { via: 'system' },
      subject: c.id,
      payload: {
        ...auditContainer(c),
        exitCode: status.exitCode,
        signal: status.signal,
        oomKilled,
        error: error ?? null,
        usage,
      },
    });
  }

  /** SIGTERM, then SIGKILL to the whole cgroup after the grace period (Docker's default 10 s). */
  async stop(
    caller: Caller,
    ref: string,
    timeoutSec?: number,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<ContainerRecord> {
    const c = await this.resolve(ref);
    const entry = this.live.get(c.id);
    if (c.state !== 'running' || !entry)
      throw new WardenError('CONTAINER_NOT_MODIFIED', `container ${c.name} is not running`);
    entry.stopping = true;
    const grace = (timeoutSec ?? this.config.runtime.stopTimeoutSec) * 1000;
    this.signal(entry.pidfd, signal);
    const timer = setTimeout(() => void entry.cgroup.killAll('SIGKILL').catch(() => undefined), grace);
    await entry.finished;
    clearTimeout(timer);
    await this.recordAction(caller, c, 'stop', { signal, timeoutSec: grace / 1000 });
    return (await this.repo.get(c.id)) ?? c;
  }

  async kill(caller: Caller, ref: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = await this.resolve(ref);
    const entry = this.live.get(c.id);
    if (c.state !== 'running' || !entry)
      throw new WardenError('CONTAINER_NOT_RUNNING', `container ${c.name} is not running`);
    // SIGKILL goes to every process in the cgroup (a forking child cannot outlive its init);
    // other signals go to PID 1, which decides, as in Docker.
    if (signal === 'SIGKILL') await entry.cgroup.killAll('SIGKILL');
    else this.signal(entry.pidfd, signal);
    await this.recordAction(caller, c, 'kill', { signal });
  }

  async restart(caller: Caller, ref: string, timeoutSec?: number): Promise<ContainerRecord> {
    const c = await this.resolve(ref);
    if (c.state === 'running') await this.stop(caller, c.id, timeoutSec);
    await this.repo.bumpRestartCount(c.id);
    return this.start(caller, c.id);
  }

  /** Exit code once the condition holds; `not-running` returns at once for a container that is not running. */
  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<number> {
    return (await this.waitExit(ref, condition)).exitCode;
  }

  /** As `wait`, with whether the exit was an OOM kill (the row's, or the exit's as it was recorded). */
  async waitExit(ref: string, condition: WaitCondition = 'not-running'): Promise<ExitNotice> {
    // A container whose start is prepared here is `created`, as its record says: no read.
    const c = this.launcher.held(ref) ?? (await this.resolve(ref));
    const recorded = (r: ContainerRecord): ExitNotice => ({
      exitCode: r.exitCode ?? 0,
      oomKilled: r.oomKilled,
    });
    // Answered at once, without waking other waiters (a next-exit waiter must keep waiting).
    if (condition === 'not-running' && c.state !== 'running') return recorded(c);
    const pending = this.live.wait(c.id, condition);
    // The exit (or removal) may have been announced between the read above and registering.
    // Not when the row said running and the process is still watched here (its exit will
    // notify), nor for a container that has not run (its start notifies): no second read.
    if (condition !== 'removed' && (c.state !== 'running' || this.live.get(c.id))) return pending;
    const now = await this.repo.get(c.id);
    if (!now && condition === 'removed') return recorded(c);
    if (condition !== 'removed' && now && now.state !== 'running' && !this.live.get(c.id)) {
      return recorded(now);
    }
    return pending;
  }

  async remove(caller: Caller, ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const c = await this.resolve(ref);
    const entry = this.live.get(c.id);
    if (c.state === 'running' && entry) {
      if (!opts.force) {
        throw new WardenError(
          'CONTAINER_RUNNING',
          `cannot remove running container ${c.name}: stop it first or force-remove`,
          { id: c.id },
        );
      }
      entry.stopping = true;
      await entry.cgroup.killAll('SIGKILL');
      await entry.finished;
      if (c.options.autoRemove) return; // onExit removed it
    }
    await this.removeRecord(c, caller);
  }

  private async removeRecord(c: ContainerRecord, caller: Caller): Promise<void> {
    await this.launcher.discard(c.id); // a created container's prepared start
    new ContainerFiles(this.config.dataDir, c.id).remove();
    await this.repo.delete(c.id);
    await this.audit.record({
      type: 'container.removed',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: auditContainer(c),
    });
    this.live.notify(c.id, 'removed', { exitCode: c.exitCode ?? 0, oomKilled: c.oomKilled });
  }

  private recordAction(caller: Caller, c: ContainerRecord, action: string, detail: Record<string, unknown>) {
    return this.audit.record({
      type: 'api.call',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: { action: `container.${action}`, ...detail },
    });
  }

  /**
   * -1 when the process already exited: a short command can finish (and the shim reap it)
   * before we get here. Its exit status still arrives through the shim; signals are moot.
   */
  private openPidfd(pid: number): number {
    try {
      return this.sys.pidfdOpen(pid);
    } catch (err) {
      if ((err as { code?: string }).code === 'ESRCH') return -1;
      throw err;
    }
  }

  private signal(pidfd: number, signal: NodeJS.Signals): void {
    if (pidfd < 0) return;
    try {
      this.sys.pidfdSendSignal(pidfd, signal);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESRCH') throw err; // already gone: the exit is on its way
    }
  }

  liveContainer(id: string) {
    return this.live.get(id);
  }

  /**
   * Containers die with the service (before its database and queues close, so their exits are
   * recorded): no process, cgroup or mount outlives it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.live.all().map(async (e) => {
        e.stopping = true;
        await e.cgroup.killAll('SIGKILL').catch(() => undefined);
        await Promise.race([e.finished, new Promise((r) => setTimeout(r, 5000))]);
      }),
    );
  }
}
