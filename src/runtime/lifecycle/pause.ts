import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { auditContainer, type ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { liveEntry } from './kill';
import { checkTransition, fromStates, stateConflict } from './transitions';

/**
 * pause: running → paused, every process of the container stopped by its cgroup's freezer
 * (v1 `freezer.state`, v2 `cgroup.freeze`), which the processes cannot notice or refuse;
 * unpause: paused → running. The freeze comes first and the guarded write after; a write
 * that finds the row changed thaws again.
 */
@Injectable()
export class PauseVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly audit: AuditService,
  ) {}

  async pause(caller: Caller, ref: string): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      const c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      if (c.state === 'paused')
        throw new WardenError('CONTAINER_STATE_CONFLICT', `container ${c.name} is already paused`, {
          id: c.id,
        });
      checkTransition(c, 'pause');
      const cgroup = liveEntry(this.live, c, 'pause').cgroup;
      await cgroup.freeze();
      const paused = await this.repo.setState(c.id, 'paused', fromStates('pause'));
      if (!paused) {
        await cgroup.thaw().catch(() => undefined);
        throw await this.refs.conflict(c, (now) => stateConflict(now, 'pause'));
      }
      await this.record(caller, 'container.paused', paused);
      return paused;
    });
  }

  async unpause(caller: Caller, ref: string): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      const c = waited ? await this.refs.current(seen) : seen;
      if (c.state !== 'paused')
        throw new WardenError('CONTAINER_STATE_CONFLICT', `container ${c.name} is not paused`, { id: c.id });
      const running = await this.thawLocked(c);
      await this.record(caller, 'container.unpaused', running);
      return running;
    });
  }

  /** A paused container thawed and running again (others verbs call this under the lock). */
  async thawIfPaused(c: ContainerRecord): Promise<ContainerRecord> {
    return c.state === 'paused' ? this.thawLocked(c) : c;
  }

  private async thawLocked(c: ContainerRecord): Promise<ContainerRecord> {
    checkTransition(c, 'unpause');
    await liveEntry(this.live, c, 'unpause').cgroup.thaw();
    const running = await this.repo.setState(c.id, 'running', fromStates('unpause'));
    if (!running) throw await this.refs.conflict(c, (now) => stateConflict(now, 'unpause'));
    return running;
  }

  private async record(caller: Caller, type: 'container.paused' | 'container.unpaused', c: ContainerRecord) {
    await this.audit.record({
      type,
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: auditContainer(c),
    });
  }
}
