import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { Syscalls } from '../../platform/ffi';
import type { ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { SYSCALLS } from '../container/runtime.tokens';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { liveEntry } from './kill';
import { killCgroup, signalPid } from './process-signals';
import { PauseVerb } from './pause';
import { checkTransition } from './transitions';

/**
 * stop: running → exited. SIGTERM (or the container's stop signal) to PID 1, then SIGKILL to
 * the whole cgroup after the grace period (Docker's default 10 s); answers once the exit is
 * recorded. Already stopped: 304, as Docker.
 */
@Injectable()
export class StopVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly pauses: PauseVerb,
  ) {}

  async stop(
    caller: Caller,
    ref: string,
    timeoutSec?: number,
    signal?: NodeJS.Signals,
  ): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) =>
      this.stopLocked(
        caller,
        await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live),
        timeoutSec,
        signal,
      ),
    );
  }

  /** The transition itself; the caller holds the container's lock. */
  async stopLocked(
    caller: Caller,
    c: ContainerRecord,
    timeoutSec?: number,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<ContainerRecord> {
    c = await this.pauses.thawIfPaused(c);
    checkTransition(c, 'stop');
    const entry = liveEntry(this.live, c, 'stop');
    entry.stopping = true;
    const grace = (timeoutSec ?? this.config.runtime.stopTimeoutSec) * 1000;
    signalPid(this.sys, entry.pidfd, signal);
    const timer = setTimeout(() => void killCgroup(entry.cgroup, 'SIGKILL').catch(() => undefined), grace);
    await entry.finished.catch(() => undefined);
    clearTimeout(timer);
    await this.audit.record({
      type: 'api.call',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: { action: 'container.stop', signal, timeoutSec: grace / 1000 },
    });
    return (await this.repo.get(c.id)) ?? c;
  }
}
