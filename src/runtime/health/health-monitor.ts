import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from '../../audit';
import { auditContainer, type ContainerRecord, type HealthState } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import {
  applyResult,
  initialHealth,
  nextProbeIn,
  probeArgv,
  timingOf,
  type ProbeTiming,
} from './healthcheck';
import { ProbeRunner } from './probe-runner';

interface Watch {
  c: ContainerRecord;
  argv: string[];
  timing: ProbeTiming;
  startedAtMs: number;
  health: HealthState;
  timer?: NodeJS.Timeout;
  /** Ends the probe under way, if any. */
  killProbe?: () => void;
  ended: boolean;
}

/**
 * Runs each running container's health check (Docker's health monitor): a probe every
 * interval (the start interval while starting within the start period), each result written
 * to the row (inspect's State.Health), and each change of status an audit event
 * (`container.health_status`, Docker's `health_status: …` event) — not each probe. The
 * probes stop when the container stops or is paused, and begin again when it is started,
 * unpaused, or adopted by a Warden that started again (keeping the status it had).
 */
@Injectable()
export class HealthMonitor implements OnApplicationShutdown {
  private readonly log = new Logger('runtime');
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly probes: ProbeRunner,
    private readonly audit: AuditService,
  ) {}

  /** Its process runs (started, unpaused, adopted): probes from now on. */
  begin(c: ContainerRecord, startedAtMs = c.startedAt ? Date.parse(c.startedAt) : Date.now()): void {
    const argv = c.options.healthcheck && probeArgv(c.options.healthcheck.test);
    if (!argv) return;
    this.end(c.id);
    const timing = timingOf(c.options.healthcheck!);
    const w: Watch = { c, argv, timing, startedAtMs, health: c.health ?? initialHealth(), ended: false };
    this.watches.set(c.id, w);
    this.schedule(w);
  }

  /** Stopped, exited or paused: no more probes (one under way is ended, its result dropped). */
  end(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.ended = true;
    clearTimeout(w.timer);
    w.killProbe?.();
    this.watches.delete(id);
  }

  onApplicationShutdown(): void {
    for (const id of [...this.watches.keys()]) this.end(id);
  }

  private schedule(w: Watch): void {
    if (w.ended) return;
    w.timer = setTimeout(() => void this.probe(w), nextProbeIn(w.health, w.timing, w.startedAtMs));
  }

  private async probe(w: Watch): Promise<void> {
    const live = this.live.get(w.c.id);
    if (w.ended || !live || live.stopping || live.exiting) return;
    try {
      const result = await this.probes.run(
        w.c,
        live,
        w.argv,
        w.timing.timeoutMs,
        (kill) => (w.killProbe = kill),
      );
      w.killProbe = undefined;
      if (w.ended) return;
      const before = w.health;
      w.health = applyResult(before, result, w.timing, w.startedAtMs);
      if (!(await this.repo.setHealth(w.c.id, w.health))) return this.end(w.c.id);
      if (before.Status !== w.health.Status) await this.transition(w.c, before, w.health);
    } catch (err) {
      this.log.warn(`container ${w.c.id}: health check not recorded: ${(err as Error).message}`);
    }
    this.schedule(w);
  }

  private async transition(c: ContainerRecord, before: HealthState, now: HealthState): Promise<void> {
    const last = now.Log[now.Log.length - 1];
    await this.audit.record({
      type: 'container.health_status',
      principal: 'system',
      source: { via: 'system' },
      subject: c.id,
      payload: {
        ...auditContainer(c),
        status: now.Status,
        previous: before.Status,
        failingStreak: now.FailingStreak,
        probe: last ? { exitCode: last.ExitCode, output: last.Output.slice(0, 512) } : null,
      },
    });
  }
}
