import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { PolicyService, type ContainerSpec } from '../../policy';
import { auditContainer, type ContainerRecord } from '../container/container';
import { ContainerRepository } from '../container/container.repository';
import { LiveContainers } from '../container/live-containers';
import { cgroupLimits } from '../container/run-config';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';

export type ResourceChange = Partial<
  Pick<
    ContainerSpec,
    'memoryBytes' | 'memorySwapBytes' | 'nanoCpus' | 'cpuShares' | 'pidsLimit' | 'cpusetCpus'
  >
>;

/**
 * update (`docker update`): new resource limits, judged by the caller's policy as a launch
 * with them would be (a cap a create could not pass, an update cannot either), then written
 * to a live container's cgroup and to its row. Any state but dead; a stopped container
 * starts with them.
 */
@Injectable()
export class UpdateVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly repo: ContainerRepository,
    private readonly live: LiveContainers,
    private readonly policy: PolicyService,
    private readonly audit: AuditService,
  ) {}

  async update(caller: Caller, ref: string, change: ResourceChange): Promise<ContainerRecord> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async () => {
      const c = await this.refs.current(seen);
      if (c.state === 'dead')
        throw new WardenError('CONTAINER_STATE_CONFLICT', `container ${c.name} is dead: cannot update`, {
          id: c.id,
        });
      const next: ContainerSpec = { ...c.spec };
      for (const [k, v] of Object.entries(change)) if (v !== undefined) Object.assign(next, { [k]: v });
      // A new memory cap without a swap value keeps Docker's rule: swap = memory (no more).
      if (change.memoryBytes !== undefined && change.memorySwapBytes === undefined)
        delete next.memorySwapBytes;
      if (
        next.memorySwapBytes !== undefined &&
        next.memorySwapBytes !== -1 &&
        next.memoryBytes !== undefined &&
        next.memorySwapBytes < next.memoryBytes
      )
        throw new WardenError(
          'VALIDATION_FAILED',
          'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
        );
      const { decision, effectiveSpec, launchRequestId } = await this.policy.decide(caller, next);
      if (!decision.allowed)
        throw new WardenError('LAUNCH_DENIED', decision.reasons.map((r) => r.message).join('; '), {
          policy: decision.policy,
          reasons: decision.reasons,
        });
      const entry = this.live.get(c.id);
      if (entry) await entry.cgroup.setLimits(cgroupLimits(effectiveSpec));
      const updated = await this.repo.setSpec(c.id, effectiveSpec);
      if (!updated) throw new WardenError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { ref });
      await this.audit.record({
        type: 'container.updated',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        policyHash: decision.policyVersion ?? undefined,
        payload: {
          ...auditContainer(updated),
          before: cgroupLimits(c.spec),
          after: cgroupLimits(effectiveSpec),
          launchRequestId: launchRequestId ?? null,
        },
      });
      return updated;
    });
  }
}
