import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { UsageService, type UsageSample } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { VolumeUsage, type ContainerVolumeUsage } from '../../volumes';
import type { CgroupStats } from '../cgroups';
import type { ContainerRecord } from './container';
import { ContainerRepository } from './container.repository';
import { LiveContainers } from './live-containers';

type Identity = Pick<ContainerRecord, 'id' | 'name' | 'image' | 'labels'>;

/** A usage record from one cgroup reading; `final` marks the totals read at exit. */
export function usageSample(
  c: Identity,
  node: string,
  pid: number,
  stats: CgroupStats,
  final: boolean,
  volumes?: ContainerVolumeUsage,
): UsageSample {
  return {
    id: randomUUID(),
    containerId: c.id,
    name: c.name,
    image: c.image,
    labels: c.labels,
    node,
    pid,
    sampledAt: new Date().toISOString(),
    final,
    cpuNs: stats.cpu.usageNs,
    cpuUserNs: stats.cpu.userNs,
    cpuSystemNs: stats.cpu.systemNs,
    memoryBytes: stats.memory.usageBytes,
    workingSetBytes: stats.memory.workingSetBytes,
    memoryPeakBytes: stats.memory.peakBytes,
    pids: stats.pids.current,
    throttledPeriods: stats.cpu.nrThrottled,
    throttledNs: stats.cpu.throttledNs,
    oomKills: stats.memory.oomKills,
    ioReadBytes: stats.io?.readBytes ?? null,
    ioWriteBytes: stats.io?.writeBytes ?? null,
    ioReadOps: stats.io?.readOps ?? null,
    ioWriteOps: stats.io?.writeOps ?? null,
    volumeBytes: volumes?.bytes ?? null,
    volumes: volumes?.volumes ?? null,
  };
}

/**
 * Every `usageIntervalMs`, reads each running container's cgroup and enqueues a sample; the
 * workers store it. It never waits on Postgres, and a tick still running when the next one
 * is due makes that one skip, so a slow Redis cannot pile up readings. The exit path records
 * the final sample itself (ContainerService.onExit), before the cgroup goes.
 */
@Injectable()
export class UsageSampler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('usage');
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  /** Name, image and labels per live container, read once from its row. */
  private readonly identities = new Map<string, Identity>();
  private lastWarnAt = 0;

  constructor(
    private readonly live: LiveContainers,
    private readonly repo: ContainerRepository,
    private readonly usage: UsageService,
    private readonly volumeUsage: VolumeUsage,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.inFlight) return;
      const done = () => {
        this.inFlight = undefined;
      };
      this.inFlight = this.sampleAll().then(done, done);
    }, this.config.runtime.usageIntervalMs);
    // A pending tick must not keep a stopping process alive.
    this.timer.unref();
  }

  /** First in shutdown: no new readings once containers start being stopped. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One sample of every running container; returns how many were enqueued. */
  async sampleAll(): Promise<number> {
    // An exiting container's final record is the exit path's job.
    const entries = this.live.all().filter((e) => !e.exiting);
    const ids = new Set(entries.map((e) => e.id));
    for (const id of this.identities.keys()) if (!ids.has(id)) this.identities.delete(id);
    // Volume bytes beside the cgroup readings: a volume that cannot be measured leaves them out.
    const volumes = this.volumeUsage.ofContainers([...ids]).catch((err: Error) => {
      this.warnThrottled(`volume usage: ${err.message}`);
      return new Map<string, ContainerVolumeUsage>();
    });
    const done = await Promise.all(
      entries.map(async (e) => {
        try {
          const identity = await this.identity(e.id);
          if (!identity) return false;
          const stats = await e.cgroup.stats();
          // It may have exited while we read: its final record is the exit path's job.
          if (!this.live.get(e.id) || e.exiting) return false;
          const vol = (await volumes).get(e.id);
          await this.usage.record(
            usageSample(identity, this.config.runtime.node, e.process.pid, stats, false, vol),
          );
          return true;
        } catch (err) {
          if (this.live.get(e.id) && !e.exiting)
            this.warnThrottled(`usage sample of ${e.id}: ${(err as Error).message}`);
          return false;
        }
      }),
    );
    return done.filter(Boolean).length;
  }

  private async identity(id: string): Promise<Identity | undefined> {
    const known = this.identities.get(id);
    if (known) return known;
    const c = await this.repo.get(id);
    if (!c) return undefined;
    const identity = { id: c.id, name: c.name, image: c.image, labels: c.labels };
    this.identities.set(id, identity);
    return identity;
  }

  private warnThrottled(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 5000) return;
    this.lastWarnAt = now;
    this.log.warn(message);
  }
}
