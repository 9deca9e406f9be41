import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { Syscalls } from '../../platform/ffi';
import type { ContainerRecord } from '../container/container';
import { LiveContainers, type LiveContainer } from '../container/live-containers';
import { SYSCALLS } from '../container/runtime.tokens';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { killCgroup, signalPid } from './process-signals';
import { PauseVerb } from './pause';
import { checkTransition, stateConflict, type Verb } from './transitions';

/**
 * The process this Warden watches for a running container. A row that says running without
 * one is another node's container (or one whose exit is being recorded by another Warden).
 */
export function liveEntry(live: LiveContainers, c: ContainerRecord, verb: Verb): LiveContainer {
  const entry = live.get(c.id);
  if (!entry) throw stateConflict(c, verb, `its process is not watched by this Warden (node ${c.node})`);
  return entry;
}

/** SIGKILL to every process in the cgroup; resolves once the exit is recorded (row, audit, cgroup gone). */
export async function killRunning(live: LiveContainers, c: ContainerRecord, verb: Verb): Promise<void> {
  const entry = liveEntry(live, c, verb);
  entry.stopping = true;
  await killCgroup(entry.cgroup, 'SIGKILL');
  await entry.finished.catch(() => undefined);
}

/**
 * kill: running → running (the signal delivered to PID 1, which decides), or for SIGKILL
 * running → exited: every process in the cgroup is killed (a forking child cannot outlive
 * its init) and the answer waits until the process is gone and its exit recorded, as
 * Docker's does — an inspect after it never says running.
 */
@Injectable()
export class KillVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly live: LiveContainers,
    private readonly audit: AuditService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    private readonly pauses: PauseVerb,
  ) {}

  async kill(caller: Caller, ref: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    await this.locks.run(seen.id, async (waited) => {
      const c = await this.pauses.thawIfPaused(
        await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live),
      );
      checkTransition(c, 'kill');
      if (signal === 'SIGKILL') await killRunning(this.live, c, 'kill');
      else signalPid(this.sys, liveEntry(this.live, c, 'kill').pidfd, signal);
      await this.audit.record({
        type: 'api.call',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { action: 'container.kill', signal },
      });
    });
  }
}
