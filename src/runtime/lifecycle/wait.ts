import { Injectable } from '@nestjs/common';
import type { Scope } from '../../platform/scope';
import type { ContainerRecord } from '../container/container';
import { ContainerLauncher } from '../container/container-launcher';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers, type ExitNotice, type WaitCondition } from '../container/live-containers';
import { ContainerRefs } from './container-refs';

/**
 * wait: any state, reads only, takes no lock (a wait must not queue behind the stop it
 * waits for). REST and the Docker API both use `register`: the Docker CLI sends its wait
 * before its start and does not start until the wait's headers arrive, so the waiter is
 * registered first and the exit awaited after.
 */
@Injectable()
export class WaitVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly launcher: ContainerLauncher,
  ) {}

  /** Resolves once the waiter is registered; `exit` once the condition holds. */
  async register(
    ref: string,
    scope: Scope,
    condition: WaitCondition = 'not-running',
  ): Promise<{ container: ContainerRecord; exit: Promise<ExitNotice> }> {
    // A container whose start is prepared here is `created`, as its record says: no read.
    const held = this.launcher.held(ref);
    const c = held ? this.refs.visible(held, ref, scope) : await this.refs.resolve(ref, scope);
    const recorded = (r: ContainerRecord): ExitNotice => ({
      exitCode: r.exitCode ?? 0,
      oomKilled: r.oomKilled,
    });
    const done = (exit: ExitNotice) => ({ container: c, exit: Promise.resolve(exit) });
    // Answered at once, without waking other waiters (a next-exit waiter must keep waiting).
    if (condition === 'not-running' && c.state !== 'running') return done(recorded(c));
    const pending = this.live.wait(c.id, condition);
    const waiting = { container: c, exit: pending };
    // The exit (or removal) may have been announced between the read above and registering.
    // Not when the row said running and the process is still watched here (its exit will
    // notify), nor for a container that has not run (its start notifies): no second read.
    if (condition !== 'removed' && (c.state !== 'running' || this.live.get(c.id))) return waiting;
    const now = await this.repo.get(c.id);
    if (!now && condition === 'removed') return done(recorded(c));
    if (condition !== 'removed' && now && now.state !== 'running' && !this.live.get(c.id))
      return done(recorded(now));
    return waiting;
  }

  async wait(ref: string, scope: Scope, condition: WaitCondition = 'not-running'): Promise<ExitNotice> {
    return (await this.register(ref, scope, condition)).exit;
  }
}
