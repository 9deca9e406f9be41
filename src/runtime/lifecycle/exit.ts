import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService, UsageService, type AuditEvent, type UsageSample } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { untilAvailable } from '../../platform/errors';
import type { Syscalls } from '../../platform/ffi';
import type { CgroupHandle } from '../cgroups';
import type { ExitStatus } from '../shim/launch-shim';
import { auditContainer, type ContainerRecord } from '../container/container';
import { NetworkAttacher } from '../../network';
import { ContainerFiles } from '../container/container-files';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers, type LiveContainer } from '../container/live-containers';
import { SYSCALLS } from '../container/runtime.tokens';
import { usageSample } from '../container/usage-sampler';
import { formatRestartPolicy } from '../../policy';
import { HealthMonitor } from '../health/health-monitor';
import { RestartScheduler } from './restart-scheduler';
import type { RestartDecision } from './restart-policy';
import { fromStates } from './transitions';

/**
 * The `exit` transition (running | paused → exited, or restarting when its restart policy
 * starts it again): not a verb a client sends but the shim's EXIT. It takes no lock — stop,
 * kill and remove --force wait for it while holding theirs — and its write is guarded like
 * every other (`WHERE state = ANY('{running,paused}')`).
 */
@Injectable()
export class ExitRecorder {
  private readonly log = new Logger('runtime');
  /** Set by RemoveVerb (which depends on this class): auto-remove of an exited container. */
  autoRemove: (c: ContainerRecord) => Promise<void> = async () => undefined;
  /** Warden is stopping and leaves its containers running: an exit now is the next start's. */
  private detached = false;

  constructor(
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly audit: AuditService,
    private readonly usageRecords: UsageService,
    private readonly network: NetworkAttacher,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly restarts: RestartScheduler,
    private readonly health: HealthMonitor,
  ) {}

  /**
   * The process ended: read OOM kills before the cgroup goes, record, remove the cgroup, wake
   * waiters. Resolves (the live entry's `finished`) once all of that is done; an auto-remove
   * follows on its own, under the container's lock.
   */
  async onExit(
    c: ContainerRecord,
    entry: Pick<LiveContainer, 'pidfd' | 'log' | 'process' | 'stopping' | 'startedAtMs' | 'restartPolicy'> & {
      cgroup?: CgroupHandle;
      /** The start's writes; the first is the row as the start left it. */
      recorded?: Promise<readonly [ContainerRecord | undefined, ...unknown[]]>;
    },
    status: ExitStatus,
    error?: string,
    /** From the shim's exit file: when it ended, and what its cgroup said then. */
    known: { finishedAt?: string; oomKilled?: boolean; usage?: Record<string, unknown> } = {},
  ): Promise<ExitStatus> {
    this.health.end(c.id);
    if (this.detached) {
      // Recorded by the next start, from the shim's exit file; the cgroup stays for it to read.
      entry.log.close();
      return status;
    }
    let oomKilled = known.oomKilled ?? false;
    let usage: Record<string, unknown> = known.usage ?? {};
    let final: UsageSample | undefined;
    try {
      if (!entry.cgroup) throw new Error('its cgroup is gone');
      const stats = await entry.cgroup.stats();
      oomKilled ||= (stats.memory.oomKills ?? 0) > 0;
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
      if (entry.pidfd >= 0) this.sys.close(entry.pidfd);
    } catch {
      /* already closed */
    }
    // A short command can exit before its start is recorded: the row never goes exited → running.
    // The row as this run began (its restart count, reset by a client's start).
    c = (await entry.recorded?.catch(() => undefined))?.[0] ?? c;
    // `docker update --restart` while it ran: the policy now in force.
    if (entry.restartPolicy !== undefined)
      c = { ...c, spec: { ...c.spec, restartPolicy: entry.restartPolicy ?? undefined } };
    // Independent writes (row, audit queue, usage queue), sent first so that the cgroup's
    // removal and the log's last lines overlap their round trips; all of it is done before
    // waiters are woken.
    // The exit happened whether or not PostgreSQL and Redis are up: its row and its event are
    // retried until they are back. The event is made once, so a re-send that lands twice (an
    // add that timed out but reached Redis) is still one row: the chain dedupes on its id.
    const retrying = (err: unknown) =>
      this.log.warn(`container ${c.id}: exit not recorded yet, retrying: ${(err as Error).message}`);
    // The chain hashes the time as stored (ms): the shim's ns would not verify.
    const at = known.finishedAt ? new Date(known.finishedAt).toISOString() : undefined;
    const endedMs = at ? Date.parse(at) : Date.now();
    const startedMs = entry.startedAtMs ?? (c.startedAt ? Date.parse(c.startedAt) : endedMs);
    const restart = this.restarts.decide(c, {
      exitCode: status.exitCode,
      ranMs: endedMs - startedMs,
      stoppedOnPurpose: entry.stopping,
    });
    const died = diedEvent(c, status, oomKilled, error, usage, at, restartPayload(c, restart));
    const recorded = Promise.all([
      untilAvailable(
        () =>
          this.repo.markExited(
            c.id,
            { exitCode: status.exitCode, oomKilled, error, finishedAt: known.finishedAt },
            fromStates('exit'),
            restart.restart ? 'restarting' : 'exited',
          ),
        retrying,
      ),
      untilAvailable(() => this.audit.enqueue(died), retrying),
      final &&
        this.usageRecords
          .record(final)
          .catch((err) =>
            this.log.warn(`container ${c.id}: final usage not recorded: ${(err as Error).message}`),
          ),
    ]);
    recorded.catch(() => undefined); // awaited below, after the cleanup
    await Promise.all([
      entry.cgroup
        ?.destroy()
        .catch((err) =>
          this.log.error(`container ${c.id}: cgroup cleanup failed: ${(err as Error).message}`),
        ),
      // Its veth, forwards, held host ports and DNS names go with the process (never throws).
      this.network.detach(c.id, new ContainerFiles(this.config.dataDir, c.id).dir),
    ]);
    await Promise.race([entry.log.whenDrained(), new Promise((r) => setTimeout(r, 1000))]);
    entry.log.close();
    let restarting = false;
    try {
      restarting = (await recorded)[0]?.state === 'restarting';
    } finally {
      // Only now: while the row may still say running, the process stays watched here, so a
      // verb that finds it running also finds its entry (and waits for this exit).
      this.live.delete(c.id);
      // Docker's waiters learn of every exit, also one its restart policy follows.
      this.live.notify(c.id, 'exited', { exitCode: status.exitCode, oomKilled });
      if (restarting) this.restarts.schedule(c.id, restart.delayMs);
      // `c` is the record as it was at start: the removal's waiters need this exit's code.
      else if (c.options.autoRemove)
        void this.autoRemove({ ...c, state: 'exited', exitCode: status.exitCode, oomKilled }).catch((err) =>
          this.log.error(`container ${c.id}: auto-remove failed: ${(err as Error).message}`),
        );
    }
    return status;
  }

  /** From now on exits are left to the next start (live restore: Warden stops, containers stay). */
  detach(): void {
    this.detached = true;
  }

  recordDied(
    c: ContainerRecord,
    status: ExitStatus,
    oomKilled: boolean,
    error?: string,
    usage: Record<string, unknown> = {},
    /** More to say about this end (recovery: the `dead` state, processes killed). */
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    return this.audit.enqueue(diedEvent(c, status, oomKilled, error, usage, undefined, extra));
  }
}

/** What the died event says of the restart policy's decision (nothing without a policy). */
function restartPayload(c: ContainerRecord, d: RestartDecision): Record<string, unknown> {
  if (!c.spec.restartPolicy) return {};
  return {
    restart: {
      policy: formatRestartPolicy(c.spec.restartPolicy),
      restarting: d.restart,
      reason: d.reason,
      ...(d.restart ? { restartCount: c.restartCount + 1, delayMs: d.delayMs } : {}),
    },
  };
}

function diedEvent(
  c: ContainerRecord,
  status: ExitStatus,
  oomKilled: boolean,
  error?: string,
  usage: Record<string, unknown> = {},
  occurredAt = new Date().toISOString(),
  extra: Record<string, unknown> = {},
): AuditEvent {
  return {
    id: randomUUID(),
    occurredAt,
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
      ...extra,
    },
  };
}
