import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { CgroupDriver } from '../cgroups';
import { ContainerRepository } from './container.repository';
import { CGROUP_DRIVER } from './runtime.tokens';

const RESTART_EXIT_CODE = 137;

/**
 * At start, before the API takes requests: what a previous Warden on this node left behind.
 * Its containers cannot be adopted — their exit status went to a shim whose reader (that
 * Warden) is gone — so they are killed through their cgroups, marked exited with the reason,
 * and audited. Then nothing of ours may remain that no container owns: container dirs without
 * a row are removed, and so are cgroups under the parent that are this Warden's.
 *
 * "This Warden's" means a container dir in this data dir: the runtime makes it at create,
 * before any cgroup, and the instance lock (runtime/host/instance-lock.ts) holds the data dir
 * and the cgroup parent for one Warden at a time. A cgroup or a running row that has no
 * container dir here is someone else's (another Warden on the same database, or a cgroup
 * parent shared by hand) and is left alone, with a warning: issue 13 measured a second
 * Warden killing every container of the first at its start.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap {
  private readonly log = new Logger('runtime');

  constructor(
    private readonly repo: ContainerRepository,
    private readonly audit: AuditService,
    @Inject(CGROUP_DRIVER) private readonly cgroups: CgroupDriver,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const node = this.config.runtime.node;
    const dir = path.join(this.config.dataDir, 'containers');
    const ours = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    for (const c of await this.repo.listOnNode(node, ['running'])) {
      if (!ours.has(c.id)) {
        this.log.warn(
          `container ${c.name} (${c.id.slice(0, 12)}) runs on node ${node} but not from ${dir}: left alone`,
        );
        continue;
      }
      const cg = await this.cgroups.open(c.id);
      let killed = 0;
      if (cg) {
        killed = (await cg.pids()).length;
        await cg.destroy();
      }
      const error = killed
        ? `killed at Warden start: the previous Warden process ended while this container ran, and its exit status was lost with it`
        : `found stopped at Warden start: the process ended while Warden was down (exit status unknown)`;
      await this.repo.markExited(c.id, { exitCode: RESTART_EXIT_CODE, oomKilled: false, error });
      await this.audit.record({
        type: 'container.died',
        principal: 'system',
        source: { via: 'system' },
        subject: c.id,
        payload: {
          name: c.name,
          image: c.image,
          exitCode: RESTART_EXIT_CODE,
          signal: killed ? 'SIGKILL' : null,
          oomKilled: false,
          error,
          recovered: true,
          processesKilled: killed,
        },
      });
      this.log.warn(`container ${c.name} (${c.id.slice(0, 12)}): ${error}`);
    }

    const known = new Set((await this.repo.list({ all: true })).map((c) => c.id));
    for (const id of await this.cgroups.list()) {
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
        fs.rmSync(path.join(dir, id), { recursive: true, force: true });
      }
    }
  }
}
