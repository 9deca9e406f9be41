import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditService } from '../../audit';
import { NetworkAttacher } from '../../network';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { Syscalls } from '../../platform/ffi';
import { CgroupDriver } from '../cgroups';
import type { ExitStatus } from '../shim/launch-shim';
import {
  adoptedProcess,
  connectShim,
  exitStatusOf,
  readShimExit,
  readShimPid,
  shimAlive,
  type ShimExitFile,
  type ShimPidFile,
} from '../shim/shim-state';
import type { ContainerRecord } from './container';
import { ContainerFiles } from './container-files';
import { ContainerLog, logSize } from './container-log';
import { ContainerRepository } from './container.repository';
import { bootId, Heartbeat } from './heartbeat';
import { LiveContainers, type LiveContainer } from './live-containers';
import { CGROUP_DRIVER, SYSCALLS } from './runtime.tokens';
import { WritableLayers } from './writable-layers';
import { ExitRecorder } from '../lifecycle/exit';
import { killCgroup, openPidfd } from '../lifecycle/process-signals';
import { fromStates } from '../lifecycle/transitions';
import { RestartScheduler } from '../lifecycle/restart-scheduler';
import { startsWithWarden } from '../lifecycle/restart-policy';
import { HealthMonitor } from '../health/health-monitor';

/** Containers reconciled at once: each is a few file reads, a connect and a cgroup open. */
const CONCURRENCY = 32;

type Outcome = 'adopted' | 'exited' | 'dead';

const KILLED_AT_START =
  'killed at Warden start: live restore is off (WARDEN_LIVE_RESTORE=false) and the previous Warden process ended while this container ran';

/**
 * At start, before the API takes requests: every container this node's previous Warden left
 * running is reconciled with what its shim (native/shim/monitor.c) says in its state dir.
 *
 *   exit.json there             the process ended while Warden was down: its real exit code,
 *                               signal, time and OOM kill are recorded (and an auto-remove
 *                               container removed), as if Warden had watched it
 *   pid.json's container and    still running: adopted — reconnected to the shim's control
 *   shim alive, start times     socket, its log followed, its pid and cgroup watched; every
 *   matching                    verb works on it as on one started here
 *   otherwise                   marked `dead` (exit code 255) with the reason: the host
 *                               rebooted, the shim died, or no shim state (an older Warden's,
 *                               or live restore was off); what is left of it is killed
 *
 * With live restore off (WARDEN_LIVE_RESTORE=false) a running one is killed instead of
 * adopted, and its exit recorded with why.
 *
 * A paused container is reconciled the same way, and an adopted one stays paused (its cgroup
 * is still frozen). Adopted running containers get their health checks again.
 *
 * Then the restart policies (Docker's daemon start): a stopped container whose policy keeps
 * it up comes back — `always`, `unless-stopped` unless a client stopped it, `on-failure` after
 * a failed exit with retries left — and so does one that was `restarting` when the previous
 * Warden ended (lifecycle/restart-policy.ts).
 *
 * Then one `service.down` event spans the time nobody watched the node (from the previous
 * Warden's last heartbeat to now). Last, nothing of ours may remain that no container owns:
 * container dirs without a row, and cgroups of ours that no running container has.
 *
 * "Ours" means a container dir in this data dir: the runtime makes it at create, before any
 * cgroup, and the instance lock (runtime/host/instance-lock.ts) holds the data dir and the
 * cgroup parent for one Warden at a time. A cgroup or a running row without a container dir
 * here is someone else's (another Warden on the same database) and is left alone.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('runtime');
  private readonly heartbeat: Heartbeat;

  constructor(
    private readonly repo: ContainerRepository,
    private readonly audit: AuditService,
    private readonly live: LiveContainers,
    private readonly exits: ExitRecorder,
    @Inject(CGROUP_DRIVER) private readonly cgroups: CgroupDriver,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly layers: WritableLayers,
    private readonly restarts: RestartScheduler,
    private readonly health: HealthMonitor,
    private readonly network: NetworkAttacher,
  ) {
    this.heartbeat = new Heartbeat(config.dataDir);
  }

  async onApplicationBootstrap(): Promise<void> {
    let swept!: () => void;
    // Restarts of the exits recorded below start after the sweep (RestartScheduler.hold).
    this.restarts.hold(new Promise<void>((resolve) => (swept = resolve)));
    try {
      await this.recover();
    } finally {
      swept();
    }
  }

  private async recover(): Promise<void> {
    const previous = this.heartbeat.previous();
    const rebooted = previous !== undefined && previous.bootId !== bootId();
    this.heartbeat.start();
    const node = this.config.runtime.node;
    const dir = path.join(this.config.dataDir, 'containers');
    const ours = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    const began = performance.now();
    const outcomes: Record<Outcome, string[]> = { adopted: [], exited: [], dead: [] };
    const running = (await this.repo.listOnNode(node, ['running', 'paused'])).filter((c) => {
      if (ours.has(c.id)) return true;
      this.log.warn(
        `container ${c.name} (${c.id.slice(0, 12)}) runs on node ${node} but not from ${dir}: left alone`,
      );
      return false;
    });
    await pool(running, CONCURRENCY, async (c) => outcomes[await this.reconcile(c, rebooted)].push(c.id));
    const reconcileMs = Math.round(performance.now() - began);
    if (running.length)
      this.log.log(
        `reconciled ${running.length} containers in ${reconcileMs} ms: ${outcomes.adopted.length} adopted, ` +
          `${outcomes.exited.length} exited while Warden was down, ${outcomes.dead.length} dead`,
      );
    if (previous) {
      const to = new Date();
      await this.audit.record({
        type: 'service.down',
        principal: 'system',
        source: { via: 'system' },
        payload: {
          from: previous.at,
          to: to.toISOString(),
          durationMs: to.getTime() - Date.parse(previous.at),
          clean: previous.clean,
          hostRebooted: rebooted,
          liveRestore: this.config.runtime.liveRestore,
          adopted: outcomes.adopted,
          exited: outcomes.exited,
          dead: outcomes.dead,
          reconcileMs,
        },
      });
    }
    await this.removeLeftovers(dir, ours);
    // Before any create can take from it: what a killed Warden left in the pool goes.
    await this.layers
      .openPool()
      .catch((err: Error) => this.log.warn(`clearing the writable-layer pool failed: ${err.message}`));
    // What no running container uses is left unmounted, as a clean stop leaves it.
    await this.layers.releaseIdle(this.config.dataDir, new Set(this.live.all().map((e) => e.id)));
    // Not awaited: the API answers while they start (each under its lock, as any start).
    void this.startByPolicy(node, ours);
  }

  /** Stopped containers their restart policy keeps up, started as Warden starts. */
  private async startByPolicy(node: string, ours: Set<string>): Promise<void> {
    try {
      const stopped = await this.repo.listOnNode(node, ['exited', 'restarting']);
      for (const c of stopped) {
        if (!ours.has(c.id) || this.restarts.pending(c.id)) continue;
        if (c.state === 'restarting' || startsWithWarden(c.spec.restartPolicy, c))
          this.restarts.schedule(c.id, 0, true);
      }
    } catch (err) {
      this.log.error(`restart policies at start: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.heartbeat.stop();
  }

  private async reconcile(c: ContainerRecord, rebooted: boolean): Promise<Outcome> {
    const files = new ContainerFiles(this.config.dataDir, c.id);
    const exit = readShimExit(files.state);
    if (exit) return this.recordExit(c, files, exit);
    const pidFile = rebooted ? undefined : readShimPid(files.state);
    const alive = pidFile ? shimAlive(pidFile) : { container: false, shim: false };
    let failure: string | undefined;
    if (pidFile && alive.container && alive.shim) {
      try {
        if (this.config.runtime.liveRestore) {
          await this.adopt(c, files, pidFile);
          return 'adopted';
        }
        // Live restore off: what the previous Warden left running ends now, its exit recorded
        // by its shim as any other.
        const entry = await this.adopt(c, files, pidFile, KILLED_AT_START);
        entry.stopping = true;
        await killCgroup(entry.cgroup, 'SIGKILL');
        await entry.finished.catch(() => undefined);
        return 'exited';
      } catch (err) {
        failure = `its shim could not be reconnected (${(err as Error).message}): killed`;
      }
    }
    // The shim writes exit.json and exits: it may have done so since the first read.
    const late = readShimExit(files.state);
    if (late) return this.recordExit(c, files, late);
    const reason =
      failure ??
      (rebooted
        ? 'the host rebooted while it ran: its process is gone and no exit was recorded'
        : !readShimPid(files.state)
          ? 'no state from its shim (started without live restore, or by an older Warden): killed at Warden start'
          : alive.container
            ? 'its shim is gone, so its exit could not be recorded: killed at Warden start'
            : 'its process and its shim are gone and no exit was recorded');
    await this.markDead(c, reason);
    return 'dead';
  }

  /** The exit happened while Warden was down: recorded as ExitRecorder records any exit. */
  private async recordExit(c: ContainerRecord, files: ContainerFiles, exit: ShimExitFile): Promise<Outcome> {
    const status = exitStatusOf(exit);
    await this.exits.onExit(
      c,
      {
        pidfd: -1,
        cgroup: (await this.cgroups.open(c.id)) ?? undefined,
        log: new ContainerLog(files.log, logSize(files.log)),
        process: adoptedProcess({ pid: c.pid ?? 0, shimPid: c.shimPid ?? 0 }, Promise.resolve(status)),
        stopping: false,
      },
      status,
      undefined,
      { finishedAt: exit.finishedAt, oomKilled: exit.oomKilled, usage: { ...exit.usage, recovered: true } },
    );
    return 'exited';
  }

  private async adopt(
    c: ContainerRecord,
    files: ContainerFiles,
    p: ShimPidFile,
    error?: string,
  ): Promise<LiveContainer> {
    const cgroup = await this.cgroups.open(c.id);
    if (!cgroup) throw new Error('its cgroup is gone');
    const shim = await connectShim(files.state);
    const exitFile = shim.exited.then((f) => {
      if (!f) throw new Error('its shim ended without recording an exit');
      return f;
    });
    exitFile.catch(() => undefined); // observed through `finished`
    const entry: LiveContainer = {
      id: c.id,
      process: adoptedProcess(p, exitFile.then(exitStatusOf)),
      pidfd: openPidfd(this.sys, p.pid),
      cgroup,
      log: new ContainerLog(files.log, logSize(files.log)),
      stopping: false,
      startedAtMs: c.startedAt ? Date.parse(c.startedAt) : undefined,
      finished: undefined as unknown as Promise<ExitStatus>,
      detach: shim.close,
    };
    const exiting = () => Object.assign(entry, { exiting: true });
    entry.finished = exitFile.then(
      (f) =>
        this.exits.onExit(c, exiting(), exitStatusOf(f), error, {
          finishedAt: f.finishedAt,
          oomKilled: f.oomKilled,
          usage: f.usage,
        }),
      (err: Error) => this.exits.onExit(c, exiting(), { exitCode: 255, signal: null }, err.message),
    );
    this.live.set(entry);
    // Its namespace and host ports held again: `docker port`, connect and disconnect work on.
    if (!error) await this.network.adopt(c.id, p.pid, files.dir);
    if (c.state === 'running' && !error) this.health.begin(c);
    return entry;
  }

  private async markDead(c: ContainerRecord, error: string): Promise<void> {
    const cg = await this.cgroups.open(c.id);
    let killed = 0;
    if (cg) {
      killed = (await cg.pids()).length;
      await killCgroup(cg, 'SIGKILL');
      await cg.destroy();
    }
    await this.repo.markDead(c.id, error, fromStates('exit'));
    await this.exits.recordDied(
      c,
      { exitCode: 255, signal: killed ? 'SIGKILL' : null },
      false,
      error,
      {},
      { state: 'dead', recovered: true, processesKilled: killed },
    );
    this.log.warn(`container ${c.name} (${c.id.slice(0, 12)}) is dead: ${error}`);
  }

  private async removeLeftovers(dir: string, ours: Set<string>): Promise<void> {
    const node = this.config.runtime.node;
    const known = new Set((await this.repo.list({ all: true })).map((c) => c.id));
    for (const id of await this.cgroups.list()) {
      if (this.live.get(id)) continue; // adopted: still running
      if (!ours.has(id)) {
        this.log.warn(
          `cgroup ${id} under ${this.cgroups.parentName} has no container dir in ${dir}: not ours, left alone`,
        );
        continue;
      }
      if (known.has(id)) {
        const row = await this.repo.get(id);
        if (row?.state === 'running' && row.node !== node) continue; // another node's (shared hierarchy is unlikely, but not ours to kill)
      }
      const cg = await this.cgroups.open(id);
      if (cg) {
        this.log.warn(`removing cgroup ${id} that no running container owns`);
        await cg.destroy();
      }
    }
    for (const id of ours) {
      if (!known.has(id)) {
        this.log.warn(`removing container dir ${id} that no container owns`);
        await this.layers.remove(new ContainerFiles(this.config.dataDir, id));
      }
    }
  }
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
