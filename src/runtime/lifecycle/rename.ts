import { Injectable } from '@nestjs/common';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { Inject } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import {
  auditContainer,
  CONTAINER_NAME_RE,
  type ContainerRecord,
  type ContainerState,
} from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { ContainerRepository } from '../container/container.repository';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';
import { RemoveVerb } from './remove';

const run = promisify(execFile);

/** States `container prune` removes: everything that is not running (or paused). */
const STOPPED: ContainerState[] = ['created', 'exited', 'dead'];

/** rename (any state, a name is only a name) and `container prune` (the stopped ones). */
@Injectable()
export class RenameVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly remover: RemoveVerb,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async rename(caller: Caller, ref: string, newName: string): Promise<ContainerRecord> {
    const name = newName.replace(/^\//, '');
    if (!CONTAINER_NAME_RE.test(name))
      throw new WardenError(
        'VALIDATION_FAILED',
        `invalid container name '${newName}': use [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
      );
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async () => {
      const c = await this.refs.current(seen);
      if (c.name === name)
        throw new WardenError(
          'CONTAINER_NAME_IN_USE',
          `renaming container ${c.name}: it already has that name`,
        );
      const renamed = await this.repo.rename(c.id, name);
      if (renamed === false)
        throw new WardenError('CONTAINER_NAME_IN_USE', `the container name '/${name}' is already in use`, {
          name,
        });
      if (!renamed) throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
      await this.audit.record({
        type: 'container.renamed',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { ...auditContainer(renamed), oldName: c.name },
      });
      return renamed;
    });
  }

  /**
   * Removes every stopped container created before `until` with all `labels` (Docker's
   * filters); one that starts meanwhile is left (its removal answers 409 and is skipped).
   */
  async prune(
    caller: Caller,
    filter: { until?: Date; labels?: Array<[string, string | undefined]> },
  ): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const rows = await this.repo.list({
      states: STOPPED,
      labelList: filter.labels,
      scope: scopeOf(caller.principal),
    });
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const c of rows) {
      if (filter.until && new Date(c.createdAt) >= filter.until) continue;
      const size = await this.writableBytes(c);
      try {
        await this.remover.remove(caller, c.id);
      } catch (err) {
        if (err instanceof WardenError && [404, 409].includes(err.status)) continue;
        throw err;
      }
      deleted.push(c.id);
      spaceReclaimed += size;
    }
    return { deleted, spaceReclaimed };
  }

  /** What removing it frees: a sized layer's image as allocated on disk, else the upper dir's files. */
  private async writableBytes(c: ContainerRecord): Promise<number> {
    const files = new ContainerFiles(this.config.dataDir, c.id);
    const image = await fs.promises.stat(files.layerImage).catch(() => undefined);
    if (image) return image.blocks * 512;
    const upper = files.upper;
    const { stdout } = await run('du', ['-s', '-B1', '-x', upper]).catch(() => ({ stdout: '0' }));
    return Number(stdout.split('\t')[0]) || 0;
  }
}
