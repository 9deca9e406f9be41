import { Injectable } from '@nestjs/common';
import { posix } from 'node:path';
import * as fs from 'node:fs';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import type { Scope } from '../../platform/scope';
import type { ContainerSpec, VolumeMount } from '../../policy';
import type { PreparedImage } from '../../images';
import { VolumesService, type ResolvedVolumeMount } from '../../volumes';
import type { ContainerRecord } from './container';
import { ContainerRepository } from './container.repository';
import { resolveInRoot } from './in-root';
import { RootfsView } from './rootfs-view';

/**
 * A container's volumes: `--volumes-from` turned into mounts the policy sees, the image's
 * `VOLUME`s as anonymous volumes, the mount rows once the container exists, and Docker's
 * copy-up of the image's files into an empty volume.
 */
@Injectable()
export class ContainerVolumes {
  constructor(
    private readonly volumes: VolumesService,
    private readonly repo: ContainerRepository,
  ) {}

  /**
   * The launch request with the mounts of each `--volumes-from` container added (its volumes
   * by name, its host binds as binds), `:ro` making them all read-only — before the policy
   * judges it, so a bind taken over from another container is judged for this caller too.
   */
  async withVolumesFrom(
    launch: Record<string, unknown>,
    from: readonly string[],
    scope: Scope,
  ): Promise<Record<string, unknown>> {
    if (from.length === 0) return launch;
    const volumes = [...((launch.volumes as unknown[] | undefined) ?? [])];
    const binds = [...((launch.binds as unknown[] | undefined) ?? [])];
    for (const entry of from) {
      const [ref, mode] = entry.split(':');
      const found = await this.repo.findByRef(ref, scope);
      const source = found.find((c) => c.id === ref || c.name === ref.replace(/^\//, '')) ?? found[0];
      if (!source || (found.length > 1 && source.id !== ref && source.name !== ref))
        // 400, not 404: the CLI reads a 404 from create as a missing image and pulls.
        throw new WardenError('VALIDATION_FAILED', `--volumes-from: No such container: ${ref}`, { ref });
      const ro = mode === 'ro';
      for (const m of source.options.volumeMounts ?? [])
        volumes.push({ source: m.name, target: m.target, readOnly: ro || m.readOnly, noCopy: true });
      for (const b of source.spec.binds)
        binds.push({ source: b.source, target: b.target, readOnly: ro || b.readOnly });
    }
    return { ...launch, volumes, binds };
  }

  /** The spec's volumes and, where no mount covers it, an anonymous one per image `VOLUME`. */
  async resolve(
    caller: Caller,
    spec: ContainerSpec,
    image: PreparedImage,
    team: string | null,
  ): Promise<ResolvedVolumeMount[]> {
    const wants: VolumeMount[] = [...(spec.volumes ?? [])];
    const taken = new Set([...spec.binds, ...wants, ...spec.tmpfs].map((m) => m.target));
    for (const raw of image.config.volumes) {
      const target = posix.normalize(`/${raw}`).replace(/(.)\/$/, '$1');
      if (target === '/' || taken.has(target)) continue;
      taken.add(target);
      wants.push({ name: '', target, readOnly: false, noCopy: false });
    }
    return this.volumes.resolveMounts(caller, wants, team);
  }

  /** Mount rows (the container's row exists now), then each empty volume gets the image's files. */
  async attach(caller: Caller, c: ContainerRecord, image: PreparedImage, mountpoint: string): Promise<void> {
    const mounts = c.options.volumeMounts ?? [];
    await this.volumes.attach(caller, c.id, mounts);
    const copies = mounts.filter((m) => !m.noCopy && this.volumes.driver.isEmpty(m.name));
    if (copies.length === 0) return;
    const view = await RootfsView.open({ lowerdirs: image.lowerdirs, mountpoint });
    try {
      for (const m of copies) {
        let dir: string | undefined = resolveInRoot(view.root, m.target, { followLast: true });
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) dir = undefined;
        await this.volumes.populate(m, dir);
      }
    } finally {
      await view.close();
    }
  }

  /** Its anonymous volumes, once the container is gone (`rm -v`, `--rm`, a failed create). */
  async discard(caller: Caller, c: ContainerRecord): Promise<void> {
    await this.volumes.discard(caller, c.options.volumeMounts ?? []);
  }
}
