import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { Syscalls } from '../../platform/ffi';
import { ExitRecorder } from '../lifecycle/exit';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { RemoteVerb } from '../dispatch/dispatch.jobs';
import { LaunchDispatcher } from '../dispatch/launch-dispatcher';
import { ContainerCreator, type CreateRequest } from '../lifecycle/create';
import { ContainerRefs } from '../lifecycle/container-refs';
import { KillVerb } from '../lifecycle/kill';
import { killCgroup } from '../lifecycle/process-signals';
import { RemoveVerb } from '../lifecycle/remove';
import { RestartVerb } from '../lifecycle/restart';
import { StartVerb } from '../lifecycle/start';
import { StopVerb } from '../lifecycle/stop';
import { WaitVerb } from '../lifecycle/wait';
import { PauseVerb } from '../lifecycle/pause';
import { RenameVerb } from '../lifecycle/rename';
import { UpdateVerb, type ResourceChange } from '../lifecycle/update';
import { CommitVerb, type CommitRequest } from '../lifecycle/commit';
import type { ImportedImage } from '../../images';
import type { ContainerRecord } from './container';
import { ContainerLauncher } from './container-launcher';
import { WritableLayers } from './writable-layers';
import { ContainerFilter, ContainerRepository } from './container.repository';
import { LiveContainers, type ExitNotice, type WaitCondition } from './live-containers';
import type { CgroupDriver } from '../cgroups';
import { CGROUP_DRIVER, SYSCALLS } from './runtime.tokens';

export type { CreateRequest } from '../lifecycle/create';

/**
 * The container verbs, one door for REST and the Docker API alike. Each verb is its own
 * file in ../lifecycle (the transition table is lifecycle/transitions.ts); this class only
 * hands requests to them, so both APIs get the same checks, locks and answers.
 */
@Injectable()
export class ContainerService implements BeforeApplicationShutdown {
  constructor(
    private readonly repo: ContainerRepository,
    private readonly refs: ContainerRefs,
    private readonly live: LiveContainers,
    private readonly creator: ContainerCreator,
    private readonly starter: StartVerb,
    private readonly stopper: StopVerb,
    private readonly killer: KillVerb,
    private readonly restarter: RestartVerb,
    private readonly remover: RemoveVerb,
    private readonly waiter: WaitVerb,
    private readonly exits: ExitRecorder,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly pauser: PauseVerb,
    private readonly renamer: RenameVerb,
    private readonly updater: UpdateVerb,
    private readonly layers: WritableLayers,
    private readonly committer: CommitVerb,
    private readonly dispatcher: LaunchDispatcher,
    private readonly launcher: ContainerLauncher,
    @Inject(CGROUP_DRIVER) private readonly cgroups: CgroupDriver,
  ) {}

  /**
   * The container when another node runs it: its verbs go through that node's queue
   * (dispatch/), since only the node whose shim watches a container can act on it.
   */
  private async elsewhere(caller: Caller, ref: string): Promise<ContainerRecord | undefined> {
    if (this.servedHere(ref)) return undefined;
    const c = await this.refs.resolve(ref, scopeOf(caller.principal));
    return c.node !== this.config.runtime.node ? c : undefined;
  }

  private forward(caller: Caller, c: ContainerRecord, verb: RemoteVerb, args: Record<string, unknown> = {}) {
    return this.dispatcher.verb(c.node, { kind: 'verb', verb, caller, id: c.id, args });
  }

  /** `docker commit`: a new image from the writable layer (lifecycle/commit.ts). */
  commit(caller: Caller, ref: string, req: CommitRequest): Promise<ImportedImage> {
    return this.committer.commit(caller, ref, req);
  }

  /** New resource limits, judged by policy like a launch (lifecycle/update.ts). */
  update(caller: Caller, ref: string, change: ResourceChange): Promise<ContainerRecord> {
    return this.updater.update(caller, ref, change);
  }

  pause(caller: Caller, ref: string): Promise<ContainerRecord> {
    return this.pauser.pause(caller, ref);
  }

  unpause(caller: Caller, ref: string): Promise<ContainerRecord> {
    return this.pauser.unpause(caller, ref);
  }

  rename(caller: Caller, ref: string, name: string): Promise<ContainerRecord> {
    return this.renamer.rename(caller, ref, name);
  }

  /** `container prune`: the stopped containers the filters pick. */
  prune(caller: Caller, filter: Parameters<RenameVerb['prune']>[1]) {
    return this.renamer.prune(caller, filter);
  }

  /** Decide → image → files → record → audit; see lifecycle/create.ts. */
  create(caller: Caller, req: CreateRequest): Promise<ContainerRecord> {
    return this.creator.create(caller, req);
  }

  /**
   * By id, id prefix or name among what the caller's scope sees (platform/scope); 404 when
   * none, 400 when a prefix is ambiguous. Every route about one container goes through here.
   */
  resolve(ref: string, caller: Caller): Promise<ContainerRecord> {
    return this.refs.resolve(ref, scopeOf(caller.principal));
  }

  /** Every filter runs in SQL (ContainerRepository.list), the caller's scope too. */
  list(caller: Caller, filter: Omit<ContainerFilter, 'scope'>): Promise<ContainerRecord[]> {
    return this.repo.list({ ...filter, scope: scopeOf(caller.principal) });
  }

  async start(caller: Caller, ref: string): Promise<ContainerRecord> {
    const remote = await this.elsewhere(caller, ref);
    if (remote) return (await this.forward(caller, remote, 'start')) as ContainerRecord;
    return this.starter.start(caller, ref);
  }

  async stop(
    caller: Caller,
    ref: string,
    timeoutSec?: number,
    signal?: NodeJS.Signals,
  ): Promise<ContainerRecord> {
    const remote = await this.elsewhere(caller, ref);
    if (remote)
      return (await this.forward(caller, remote, 'stop', { timeoutSec, signal })) as ContainerRecord;
    return this.stopper.stop(caller, ref, timeoutSec, signal);
  }

  async kill(caller: Caller, ref: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const remote = await this.elsewhere(caller, ref);
    if (remote) {
      await this.forward(caller, remote, 'kill', { signal });
      return;
    }
    return this.killer.kill(caller, ref, signal);
  }

  restart(caller: Caller, ref: string, timeoutSec?: number): Promise<ContainerRecord> {
    return this.restarter.restart(caller, ref, timeoutSec);
  }

  async remove(
    caller: Caller,
    ref: string,
    opts: { force?: boolean; volumes?: boolean } = {},
  ): Promise<void> {
    const remote = await this.elsewhere(caller, ref);
    if (remote) {
      await this.forward(caller, remote, 'remove', opts);
      return;
    }
    return this.remover.remove(caller, ref, opts);
  }

  /** Exit code once the condition holds; `not-running` returns at once for a container that is not running. */
  async wait(caller: Caller, ref: string, condition: WaitCondition = 'not-running'): Promise<number> {
    return (await this.waiter.wait(ref, scopeOf(caller.principal), condition)).exitCode;
  }

  /** As `wait`, with whether the exit was an OOM kill. */
  waitExit(caller: Caller, ref: string, condition: WaitCondition = 'not-running'): Promise<ExitNotice> {
    return this.waiter.wait(ref, scopeOf(caller.principal), condition);
  }

  /** Resolves once the waiter is registered (Docker's wait sends its headers then); `exit` when it holds. */
  waitRegistered(caller: Caller, ref: string, condition: WaitCondition = 'not-running') {
    return this.waiter.register(ref, scopeOf(caller.principal), condition);
  }

  liveContainer(id: string) {
    return this.live.get(id);
  }

  /**
   * Whether this node serves `ref` without a read: it watches the container, or the create
   * prepared its start here (the common cases). Otherwise the record says which node runs it.
   */
  servedHere(ref: string): boolean {
    return this.live.get(ref) !== undefined || this.launcher.held(ref) !== undefined;
  }

  /**
   * Live restore (the default): containers keep running, watched by their shims, and the next
   * start adopts them (RecoveryService); exits from now on are its to record. Otherwise they
   * die with the service (before its database and queues close, so their exits are
   * recorded): no process, cgroup or mount outlives it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stopLiveContainers();
    const running = new Set(this.config.runtime.liveRestore ? this.live.all().map((e) => e.id) : []);
    const log = new Logger(ContainerService.name);
    await this.layers
      .releaseIdle(this.config.dataDir, running)
      .catch((err: Error) =>
        log.warn(`unmounting stopped containers' writable layers failed: ${err.message}`),
      );
    await this.layers
      .closePool()
      .catch((err: Error) => log.warn(`emptying the writable-layer pool failed: ${err.message}`));
    // The cgroup parent (WARDEN_CGROUP_PARENT) goes too once no container's cgroup is left in it
    // (one that live restore keeps running holds it): before, every node that had run a
    // container left it behind, empty, in each hierarchy.
    await this.cgroups
      .removeParent()
      .catch((err: Error) => log.warn(`removing the empty cgroup parent failed: ${err.message}`));
  }

  private async stopLiveContainers(): Promise<void> {
    if (this.config.runtime.liveRestore) {
      this.exits.detach();
      for (const e of this.live.all()) {
        e.detach?.();
        e.log.close();
        if (e.pidfd >= 0) this.sys.close(e.pidfd);
        e.pidfd = -1;
      }
      return;
    }
    await Promise.all(
      this.live.all().map(async (e) => {
        e.stopping = true;
        await killCgroup(e.cgroup, 'SIGKILL').catch(() => undefined);
        await Promise.race([e.finished, new Promise((r) => setTimeout(r, 5000))]);
      }),
    );
  }
}
