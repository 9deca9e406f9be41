import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { auditContainer, type ContainerRecord } from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { WritableLayers } from '../container/writable-layers';
import { ContainerLauncher } from '../container/container-launcher';
import { ContainerVolumes } from '../container/container-volumes';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { ExitRecorder } from './exit';
import { killRunning } from './kill';
import { PauseVerb } from './pause';
import { fromStates, stateConflict } from './transitions';

const SYSTEM: Caller = { principal: { id: 'system', role: 'admin', teams: [] }, source: { via: 'system' } };

/**
 * remove: created | exited | dead → gone; running only with force, which SIGKILLs the cgroup
 * and waits until the exit is recorded first. The row goes first, with a guarded DELETE, so
 * of two removals only one wins; then the prepared start, the files, the audit event, and
 * the `removed` waiters. When it answers, nothing of the container is left.
 */
@Injectable()
export class RemoveVerb {
  private readonly log = new Logger('runtime');

  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly launcher: ContainerLauncher,
    private readonly audit: AuditService,
    private readonly volumes: ContainerVolumes,
    private readonly pauses: PauseVerb,
    private readonly layers: WritableLayers,
    exits: ExitRecorder,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {
    exits.autoRemove = (c) => this.autoRemove(c);
  }

  /** `volumes` (`rm -v`): its anonymous volumes go too, as with an auto-remove. */
  async remove(
    caller: Caller,
    ref: string,
    opts: { force?: boolean; volumes?: boolean } = {},
  ): Promise<void> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    await this.locks.run(seen.id, async (waited) => {
      let c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      if (c.state === 'paused' && opts.force) c = await this.pauses.thawIfPaused(c);
      if (c.state === 'running' || c.state === 'paused') {
        if (!opts.force) throw stateConflict(c, 'remove', 'stop it first or force-remove');
        await killRunning(this.live, c, 'remove');
        c = await this.refs.current(c);
      }
      await this.removeLocked(caller, c, opts.volumes);
    });
  }

  /** The transition itself; the caller holds the container's lock. */
  async removeLocked(caller: Caller, c: ContainerRecord, anonymousVolumes = false): Promise<void> {
    const gone = await this.repo.deleteFrom(c.id, fromStates('remove'));
    if (!gone) throw await this.refs.conflict(c, (now) => stateConflict(now, 'remove'));
    await this.launcher.discard(c.id); // a created container's prepared start
    try {
      await this.layers.remove(new ContainerFiles(this.config.dataDir, c.id));
    } catch (err) {
      // The row is gone, so the container is; what is left of its files is no container's and
      // the next start's recovery removes it. Not the client's problem.
      this.log.error(`container ${c.id}: removing its files failed: ${(err as Error).message}`);
    }
    await this.audit.record({
      type: 'container.removed',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: auditContainer(gone),
    });
    if (anonymousVolumes)
      await this.volumes
        .discard(caller, gone)
        .catch((err: Error) =>
          this.log.error(`container ${c.id}: removing its volumes failed: ${err.message}`),
        );
    this.live.notify(c.id, 'removed', {
      exitCode: c.exitCode ?? gone.exitCode ?? 0,
      oomKilled: gone.oomKilled,
    });
  }

  /** After an auto-remove container's exit; a client's remove or start may have come first. */
  private async autoRemove(exited: ContainerRecord): Promise<void> {
    await this.locks.run(exited.id, async () => {
      const c = await this.repo.get(exited.id);
      if (!c || c.state === 'running') return; // removed already, or started again
      // Docker's --rm takes the anonymous volumes with the container.
      await this.removeLocked(SYSTEM, { ...c, exitCode: exited.exitCode }, true);
    });
  }
}
