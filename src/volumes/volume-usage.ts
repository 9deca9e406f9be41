import { Inject, Injectable, Logger } from '@nestjs/common';
import * as path from 'node:path';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { LocalVolumeDriver, type VolumeMeasure } from './local-driver';
import { VolumeRepository } from './volume.repository';

/** A plain volume's du is reused for this many usage ticks: a tree walk every tick would cost more than the sample. */
const DU_REUSE_TICKS = 6;

export interface ContainerVolumeUsage {
  /** The sum of the measured volumes' bytes; null when none could be measured. */
  bytes: number | null;
  /** Each volume's bytes by name (null: not measured). */
  volumes: Record<string, number | null>;
}

/**
 * Volume bytes for usage samples (issue 17 point 1): each volume the containers mount, measured
 * once per call however many containers share it — a sized volume by statfs of its own
 * filesystem (cheap, every time), a plain one by a du bounded in time and reused for six usage ticks (a minute by default).
 */
@Injectable()
export class VolumeUsage {
  private readonly log = new Logger('volumes');
  private readonly driver: LocalVolumeDriver;
  private readonly du = new Map<string, { at: number; m: VolumeMeasure }>();
  private readonly duReuseMs: number;

  constructor(
    private readonly repo: VolumeRepository,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    this.driver = new LocalVolumeDriver(path.join(config.dataDir, 'volumes'));
    this.duReuseMs = DU_REUSE_TICKS * config.runtime.usageIntervalMs;
  }

  /** Per container id, for those that mount a volume; the others are not in the map. */
  async ofContainers(ids: readonly string[]): Promise<Map<string, ContainerVolumeUsage>> {
    const mounts = await this.repo.mountedBy(ids);
    const measured = new Map<string, Promise<VolumeMeasure>>();
    for (const m of mounts)
      if (!measured.has(m.name)) measured.set(m.name, this.measure(m.name, m.sizeBytes));
    const out = new Map<string, ContainerVolumeUsage>();
    for (const m of mounts) {
      const u = out.get(m.containerId) ?? { bytes: null, volumes: {} };
      const bytes = (await measured.get(m.name)!).bytes;
      u.volumes[m.name] = bytes;
      if (bytes !== null) u.bytes = (u.bytes ?? 0) + bytes;
      out.set(m.containerId, u);
    }
    for (const name of this.du.keys()) if (!measured.has(name)) this.du.delete(name);
    return out;
  }

  private async measure(name: string, sizeBytes: number | undefined): Promise<VolumeMeasure> {
    const cached = this.du.get(name);
    if (sizeBytes === undefined && cached && Date.now() - cached.at < this.duReuseMs) return cached.m;
    const m = await this.driver.measure(name, sizeBytes).catch((err: Error): VolumeMeasure => {
      this.log.warn(`volume ${name} not measured: ${err.message}`);
      return { bytes: null, how: 'skipped', reason: err.message };
    });
    if (sizeBytes === undefined) this.du.set(name, { at: Date.now(), m });
    return m;
  }
}
