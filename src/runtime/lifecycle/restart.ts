import { Injectable } from '@nestjs/common';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { StartVerb } from './start';
import { StopVerb } from './stop';
import { checkTransition, fromStates, stateConflict } from './transitions';

/** restart: created | running | exited → running: stop (if running) and start, under one lock. */
@Injectable()
export class RestartVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly stopVerb: StopVerb,
    private readonly startVerb: StartVerb,
  ) {}

  async restart(caller: Caller, ref: string, timeoutSec?: number): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      let c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      checkTransition(c, 'restart');
      if (c.state === 'running') c = await this.stopVerb.stopLocked(caller, c, timeoutSec);
      const bumped = await this.repo.bumpRestartCount(c.id, fromStates('start'));
      if (!bumped) throw await this.refs.conflict(c, (now) => stateConflict(now, 'restart'));
      return this.startVerb.startLocked(caller, bumped);
    });
  }
}
