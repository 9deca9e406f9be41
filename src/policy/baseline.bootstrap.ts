import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AuditService } from '../audit';
import type { AuditEventInput } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { baselinePolicy, policyVersionId } from './core';
import { EVERYONE, PolicyRepository } from './policy.repository';
import { PolicyService } from './policy.service';
import { stableEventId } from './stable-event-id';

/** Serialises first boot across nodes starting at once against one database. */
const BASELINE_LOCK = 0x5741_5250; // 'WARP'

const SYSTEM = { principal: 'system', source: { via: 'system' as const } };

/**
 * A fresh install is usable and safe (issue 3): when no policy exists at all, create
 * `baseline` as the first version in history, activate it and bind it to everyone. Once any
 * policy exists this does nothing, so an admin who replaced or unbound baseline is never
 * overridden on restart.
 */
@Injectable()
export class BaselineBootstrap implements OnApplicationBootstrap {
  private readonly log = new Logger(BaselineBootstrap.name);

  constructor(
    private readonly repo: PolicyRepository,
    private readonly decisions: PolicyService,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Baseline admits locally imported images and whatever the configured registry upstreams
    // serve, named as images name them (`docker.io` for Docker Hub, else host[:port]).
    const doc = baselinePolicy({ upstreamRegistries: this.config.registry.upstreams.map((u) => u.registry) });
    const versionId = policyVersionId(doc);
    const created = await this.repo.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [BASELINE_LOCK]);
      if ((await this.repo.countPolicies(m)) > 0) return false;
      await this.repo.ensurePolicy(doc.name, SYSTEM.principal, m);
      await this.repo.insertVersion(
        { id: versionId, policy: doc.name, document: doc, createdBy: 'system' },
        m,
      );
      await this.repo.activate(doc.name, versionId, m);
      await this.repo.insertBinding(
        { id: randomUUID(), policy: doc.name, kind: 'everyone', value: EVERYONE, createdBy: 'system' },
        m,
      );
      // Enqueued before commit with ids fixed by content: if the commit fails, the next
      // boot redoes the steps and re-sends the same events, which the audit store dedupes.
      const steps: AuditEventInput[] = [
        {
          type: 'policy.version.created',
          ...SYSTEM,
          subject: doc.name,
          policyHash: versionId,
          payload: { policy: doc.name, versionId, document: doc, reason: 'first boot: no policy existed' },
        },
        {
          type: 'policy.activated',
          ...SYSTEM,
          subject: doc.name,
          policyHash: versionId,
          payload: { policy: doc.name, versionId, previous: null },
        },
        {
          type: 'policy.bound',
          ...SYSTEM,
          subject: doc.name,
          payload: { policy: doc.name, kind: 'everyone', value: EVERYONE, previous: null },
        },
      ];
      for (const step of steps)
        await this.audit.enqueue({
          ...step,
          id: stableEventId('baseline', versionId, step.type),
          occurredAt: new Date().toISOString(),
          payload: step.payload ?? {},
        });
      return true;
    });
    if (created) {
      this.decisions.invalidate();
      this.log.log(`no policy existed: created ${doc.name} (${versionId}), active and bound to everyone`);
    }
  }
}
