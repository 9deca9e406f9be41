import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from '../../audit';
import { formatRestartPolicy } from '../../policy';
import type { Caller } from '../../platform/http';
import { auditContainer, type ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { decideRestart, type RestartDecision } from './restart-policy';
import { allows, fromStates, stateConflict } from './transitions';

/**
 * The restart policy at work (Docker's restart manager): decides at each exit (ExitRecorder
 * asks), holds the backoff per container, and starts a `restarting` container when its delay
 * is over, under the container's lock, as the policy's own start (StartVerb sets `starter`;
 * it depends on this class through ExitRecorder). The backoff lives in memory, as Docker's: a
 * Warden that starts again begins it anew, and starts `restarting` rows at once
 * (RecoveryService).
 */
@Injectable()
export class RestartScheduler implements OnApplicationShutdown {
  private readonly log = new Logger('runtime');
  private readonly delays = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Restarts past their delay, waiting for the gate or the lock, or starting. */
  private readonly firing = new Set<string>();
  private closed = false;
  /** What a restart waits for before it starts (Warden's start: recovery's sweep, see hold). */
  private gate: Promise<void> = Promise.resolve();
  /** The policy's start (StartVerb.startLocked as the system); set by StartVerb. */
  starter: (c: ContainerRecord) => Promise<unknown> = async () => undefined;

  constructor(
    private readonly repo: ContainerRepository,
    private readonly locks: ContainerLocks,
    private readonly refs: ContainerRefs,
    private readonly audit: AuditService,
  ) {}

  /** At an exit: restart or not, and after how long (the backoff is kept either way). */
  decide(
    c: ContainerRecord,
    exit: { exitCode: number; ranMs: number; stoppedOnPurpose: boolean },
  ): RestartDecision {
    const decision = decideRestart(c.spec.restartPolicy, {
      ...exit,
      restartCount: c.restartCount,
      previousDelayMs: this.delays.get(c.id) ?? 0,
    });
    if (c.spec.restartPolicy) this.delays.set(c.id, decision.delayMs);
    return decision;
  }

  /**
   * Its restart, `delayMs` from now (the row already says restarting). `atBoot`: Warden's start
   * brings back an exited container its policy keeps up; otherwise only a container still
   * restarting is started (a client's stop meanwhile made it exited: it stays so).
   */
  schedule(id: string, delayMs: number, atBoot = false): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(id));
    const timer = setTimeout(() => {
      this.timers.delete(id);
      void this.fire(id, atBoot);
    }, delayMs);
    this.timers.set(id, timer);
  }

  /**
   * Restarts wait until `done` settles. Warden's start records the exits that happened while it
   * was down, which schedules their restarts, and then sweeps cgroups and layers no live
   * container holds: a restart already under way (cgroup made, not yet live) would be killed by
   * that sweep and counted as a failed run (the likely cause of on-failure:2 at RestartCount 2
   * after one exit, seen once in the cgroup v2 guest).
   */
  hold(done: Promise<unknown>): void {
    this.gate = done.then(
      () => undefined,
      () => undefined,
    );
  }

  /** A restart is waiting for its delay, or is past it and not done. */
  pending(id: string): boolean {
    return this.timers.has(id) || this.firing.has(id);
  }

  /** A client started it: the backoff begins anew (Docker resets its restart manager). */
  reset(id: string): void {
    this.delays.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Removed: nothing of it is kept. */
  forget(id: string): void {
    this.reset(id);
  }

  /**
   * stop, kill, restart or remove --force of a restarting container (the caller holds its
   * lock): the pending restart is called off and the row says exited, with its last exit.
   */
  async cancelLocked(
    caller: Caller,
    c: ContainerRecord,
    action: string,
    extra: Record<string, unknown> = {},
  ): Promise<ContainerRecord> {
    clearTimeout(this.timers.get(c.id));
    this.timers.delete(c.id);
    const exited = await this.repo.cancelRestart(c.id, fromStates('cancel'));
    if (!exited) throw await this.refs.conflict(c, (now) => stateConflict(now, 'cancel'));
    await this.audit.record({
      type: 'api.call',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: {
        ...auditContainer(c),
        action,
        ...extra,
        restartCancelled: true,
        restartPolicy: formatRestartPolicy(c.spec.restartPolicy),
      },
    });
    return exited;
  }

  private async fire(id: string, atBoot: boolean): Promise<void> {
    this.firing.add(id);
    try {
      await this.gate;
      if (this.closed) return;
      await this.locks.run(id, async () => {
        const c = await this.repo.get(id);
        // Stopped, removed or started meanwhile (a fire already waiting on the lock when a
        // client's stop took it must not undo the stop); `exited` only when Warden starts.
        if (!c || !allows('policy', c.state) || (!atBoot && c.state !== 'restarting')) return;
        await this.starter(c);
      });
    } catch (err) {
      // The start failed and was recorded as an exit (StartVerb): as Docker's, no more tries.
      this.log.warn(`container ${id}: restart by its policy failed: ${(err as Error).message}`);
    } finally {
      this.firing.delete(id);
    }
  }

  onApplicationShutdown(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
