import { Inject, Injectable } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { ImageProvider } from '../../images';
import { parseImageReference } from '../../policy';
import { WardenError } from '../../platform/errors';
import type { Scope } from '../../platform/scope';
import type { ContainerRecord } from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { RootfsView } from '../container/rootfs-view';
import { ContainerLocks } from '../lifecycle/container-locks';
import { ContainerRefs } from '../lifecycle/container-refs';

import { WritableLayers } from '../container/writable-layers';
/**
 * A container's root filesystem as a host path, for the archive API, export and diff. A
 * running container's is its init's `/proc/<pid>/root` (with its volumes and tmpfs mounts, as
 * Docker shows them); a stopped one's is its overlay mounted in a private namespace
 * (RootfsView) while the container's lock is held, so no start can mount the same upper dir
 * meanwhile. Volumes of a stopped container are not mounted in that view.
 */
@Injectable()
export class ContainerRoots {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly images: ImageProvider,
    private readonly layers: WritableLayers,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  resolve(ref: string, scope: Scope): Promise<ContainerRecord> {
    return this.refs.resolve(ref, scope);
  }

  /** The image's unpacked layers, top first. */
  async lowerdirs(c: ContainerRecord): Promise<string[]> {
    const ref = c.imageDigest
      ? { registry: '', repository: '', digest: c.imageDigest }
      : parseImageReference(c.image);
    if ('ok' in ref && !ref.ok)
      throw new WardenError('CONTAINER_START_FAILED', `image ${c.image}: ${ref.error}`);
    return (await this.images.prepare('ok' in ref ? ref.ref : ref)).lowerdirs;
  }

  files(c: ContainerRecord): ContainerFiles {
    return new ContainerFiles(this.config.dataDir, c.id);
  }

  /** Its files with a sized writable layer mounted (again, if a restart or stop unmounted it). */
  async mountedFiles(c: ContainerRecord): Promise<ContainerFiles> {
    const files = this.files(c);
    await this.layers.ensure(files);
    return files;
  }

  async with<T>(ref: string, scope: Scope, fn: (root: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    const seen = await this.refs.resolve(ref, scope);
    if (seen.state === 'running' && seen.pid) return fn(`/proc/${seen.pid}/root`, seen);
    return this.locks.run(seen.id, async () => {
      const c = await this.refs.current(seen);
      if (c.state === 'running' && c.pid) return fn(`/proc/${c.pid}/root`, c);
      const files = this.files(c);
      await this.layers.ensure(files);
      files.resetWork();
      const view = await RootfsView.open({
        lowerdirs: await this.lowerdirs(c),
        upper: { upperdir: files.upper, workdir: files.work },
        mountpoint: files.rootfs,
      });
      try {
        return await fn(view.root, c);
      } finally {
        await view.close();
      }
    });
  }
}
