import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { auditContainer, type ContainerRecord } from '../container/container';
import { LiveContainers } from '../container/live-containers';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { StartVerb } from './start';
import { StopVerb } from './stop';
import { RestartScheduler } from './restart-scheduler';
import { allows, checkTransition, stateConflict } from './transitions';

/**
 * restart: created | running | exited | restarting → running: stop (if running) or call off
 * the policy's pending restart, and start, under one lock. As Docker's, a client's restart is
 * a client's start: the count of the policy's restarts begins again (RestartCount 0), and the
 * trail gets Docker's `restart` event after the start.
 */
@Injectable()
export class RestartVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly live: LiveContainers,
    private readonly stopVerb: StopVerb,
    private readonly startVerb: StartVerb,
    private readonly restarts: RestartScheduler,
    private readonly audit: AuditService,
  ) {}

  async restart(caller: Caller, ref: string, timeoutSec?: number): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      let c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      checkTransition(c, 'restart');
      if (c.state === 'running') c = await this.stopVerb.stopLocked(caller, c, timeoutSec);
      else if (c.state === 'restarting') c = await this.restarts.cancelLocked(caller, c, 'container.stop');
      if (!allows('start', c.state)) throw stateConflict(c, 'restart');
      const started = await this.startVerb.startLocked(caller, c);
      await this.audit.record({
        type: 'api.call',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { ...auditContainer(c), action: 'container.restart', timeoutSec: timeoutSec ?? null },
      });
      return started;
    });
  }
}
