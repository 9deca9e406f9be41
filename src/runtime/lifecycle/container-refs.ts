import { Injectable } from '@nestjs/common';
import { WardenError } from '../../platform/errors';
import { inScope, type Scope } from '../../platform/scope';
import type { ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import type { LiveContainers } from '../container/live-containers';

/** Finding the container a verb is about, by what the client sent. */
@Injectable()
export class ContainerRefs {
  constructor(private readonly repo: ContainerRepository) {}

  /**
   * By id, id prefix or name among what the scope sees; 404 when none (a container of
   * another team is none), 400 when a prefix is ambiguous.
   */
  async resolve(ref: string, scope: Scope): Promise<ContainerRecord> {
    const found = await this.repo.findByRef(ref, scope);
    if (found.length === 0)
      throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
    const exact = found.find((c) => c.id === ref || c.name === ref.replace(/^\//, ''));
    if (exact) return exact;
    if (found.length > 1)
      throw new WardenError('CONTAINER_AMBIGUOUS', `multiple containers match id prefix '${ref}'`, { ref });
    return found[0];
  }

  /** A record already in hand (a prepared start's), checked against the scope as `resolve` would. */
  visible(c: ContainerRecord, ref: string, scope: Scope): ContainerRecord {
    if (!inScope(scope, c))
      throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
    return c;
  }

  /** The row as it is now (after waiting for the container's lock); 404 once it is gone. */
  async current(c: Pick<ContainerRecord, 'id' | 'name'>): Promise<ContainerRecord> {
    const now = await this.repo.get(c.id);
    if (!now) throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${c.name}`, { ref: c.id });
    return now;
  }

  /**
   * The row as it is once its exit is recorded: a row read as running whose process this
   * Warden no longer watches has just exited (its row is being written), so it is read again.
   */
  async settled(c: ContainerRecord, live: LiveContainers): Promise<ContainerRecord> {
    return c.state === 'running' && !live.get(c.id) ? this.current(c) : c;
  }

  /** Why a guarded write found nothing to write: the state it is in now (409), or gone (404). */
  async conflict(
    c: Pick<ContainerRecord, 'id' | 'name'>,
    explain: (now: ContainerRecord) => Error,
  ): Promise<Error> {
    const now = await this.repo.get(c.id);
    return now
      ? explain(now)
      : new WardenError('CONTAINER_NOT_FOUND', `No such container: ${c.name}`, { ref: c.id });
  }
}
