import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AuditService } from '../audit';
import type { AuditEventInput } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { baselineAction, BUILT_IN_AUTHOR, type BaselineAction } from './baseline-upgrade';
import { baselinePolicy, policyVersionId, type PolicyDocument } from './core';
import { EVERYONE, PolicyRepository, type Sql } from './policy.repository';
import { PolicyService } from './policy.service';
import { stableEventId } from './stable-event-id';

/** Serialises first boot across nodes starting at once against one database. */
const BASELINE_LOCK = 0x5741_5250; // 'WARP'

const SYSTEM = { principal: BUILT_IN_AUTHOR, source: { via: 'system' as const } };

type BootOutcome = { action: 'created' } | BaselineAction;

/**
 * A fresh install is usable and safe (issue 3): when no policy exists at all, create
 * `baseline` as the first version in history, activate it and bind it to everyone.
 *
 * Later boots keep an unmodified baseline current (issue 14): when the active version is an
 * earlier built-in one (baseline-upgrade.ts), this release's document becomes its next
 * version, activated, with the two audit events any policy change has. A baseline an admin
 * changed, deactivated or removed is never overridden; the log says so at every boot.
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
    const outcome = await this.repo.ds.transaction(async (m): Promise<BootOutcome> => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [BASELINE_LOCK]);
      if ((await this.repo.countPolicies(m)) === 0) {
        await this.firstBoot(doc, versionId, m);
        return { action: 'created' };
      }
      const policy = await this.repo.findPolicy(doc.name, m);
      const active = policy?.activeVersion ? await this.repo.findVersion(policy.activeVersion, m) : undefined;
      // This release's rules with the registries the install's baseline already admits: an
      // upgrade brings new defaults, never a registry (an upstream added to the environment
      // later is still admitted only by an admin's new version, docs/registry-proxy.md).
      const target = active ? builtInLike(active.document) : doc;
      const action = baselineAction(policy, active, policyVersionId(target));
      if (action.action === 'upgrade') await this.upgrade(target, policyVersionId(target), action.from, m);
      return action;
    });
    this.report(outcome, doc.name, outcome.action === 'upgrade' ? outcome.to : versionId);
  }

  private report(outcome: BootOutcome, name: string, versionId: string): void {
    switch (outcome.action) {
      case 'created':
        this.decisions.invalidate();
        return this.log.log(
          `no policy existed: created ${name} (${versionId}), active and bound to everyone`,
        );
      case 'upgrade':
        this.decisions.invalidate();
        return this.log.log(
          `${name} was an unmodified earlier built-in version (${outcome.from}): upgraded to this release's (${versionId})`,
        );
      case 'modified':
        return this.log.warn(
          `${name} was changed by ${outcome.by} (active ${outcome.active}): left alone, without this release's built-in defaults (version ${versionId}); compare with ` +
            `GET /policies/${name}/versions`,
        );
      case 'absent':
      case 'inactive':
        return this.log.warn(
          `${name} is ${outcome.action === 'absent' ? 'removed' : 'not active'}: left alone`,
        );
      case 'current':
        return;
    }
  }

  private async firstBoot(doc: PolicyDocument, versionId: string, m: Sql): Promise<void> {
    await this.repo.ensurePolicy(doc.name, SYSTEM.principal, m);
    await this.repo.insertVersion(
      { id: versionId, policy: doc.name, document: doc, createdBy: SYSTEM.principal },
      m,
    );
    await this.repo.activate(doc.name, versionId, m);
    await this.repo.insertBinding(
      { id: randomUUID(), policy: doc.name, kind: 'everyone', value: EVERYONE, createdBy: SYSTEM.principal },
      m,
    );
    await this.enqueue('baseline', versionId, [
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
    ]);
  }

  /** The release's document as the policy's next version; its bindings stay as they are. */
  private async upgrade(doc: PolicyDocument, versionId: string, from: string, m: Sql): Promise<void> {
    await this.repo.insertVersion(
      { id: versionId, policy: doc.name, document: doc, createdBy: SYSTEM.principal },
      m,
    );
    await this.repo.activate(doc.name, versionId, m);
    await this.enqueue(`baseline-upgrade:${from}`, versionId, [
      {
        type: 'policy.version.created',
        ...SYSTEM,
        subject: doc.name,
        policyHash: versionId,
        payload: {
          policy: doc.name,
          versionId,
          document: doc,
          reason: `built-in baseline upgraded: the active version ${from} was an unmodified earlier built-in`,
          upgradedFrom: from,
        },
      },
      {
        type: 'policy.activated',
        ...SYSTEM,
        subject: doc.name,
        policyHash: versionId,
        payload: { policy: doc.name, versionId, previous: from },
      },
    ]);
  }

  /**
   * Enqueued before commit with ids fixed by content: if the commit fails, the next boot redoes
   * the steps and re-sends the same events, which the audit store dedupes.
   */
  private async enqueue(key: string, versionId: string, steps: AuditEventInput[]): Promise<void> {
    for (const step of steps)
      await this.audit.enqueue({
        ...step,
        id: stableEventId(key, versionId, step.type),
        occurredAt: new Date().toISOString(),
        payload: step.payload ?? {},
      });
  }
}

/** The built-in baseline of this release, admitting the registries `stored` admits. */
function builtInLike(stored: PolicyDocument): PolicyDocument {
  const registries = stored.rules.images?.allowedRegistries ?? [];
  return baselinePolicy({ upstreamRegistries: registries.filter((r) => r !== '') });
}
