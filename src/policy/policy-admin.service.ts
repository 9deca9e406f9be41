import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { parsePolicyDocument, policyVersionId } from './core';
import type { PolicyDocument } from './core';
import {
  BindingKind,
  BindingRecord,
  EVERYONE,
  PolicyRecord,
  PolicyRepository,
  PolicyVersionRecord,
} from './policy.repository';
import { notFound, PolicyService } from './policy.service';

export interface PolicyView extends PolicyRecord {
  mode: PolicyDocument['mode'] | null;
  document: PolicyDocument | null;
  bindings: Array<Pick<BindingRecord, 'kind' | 'value' | 'createdBy' | 'createdAt'>>;
}

/** Turns a document's validation problems into a 400 that names each field under `where`. */
export function parseDocumentOrThrow(input: unknown, where: string): PolicyDocument {
  const parsed = parsePolicyDocument(input);
  if (parsed.ok) return parsed.doc;
  const problems = parsed.errors.map((e) =>
    e.startsWith('document:') ? `${where}${e.slice(8)}` : `${where}.${e}`,
  );
  throw new WardenError('VALIDATION_FAILED', `invalid policy document: ${problems.join('; ')}`, { problems });
}

/**
 * Admin changes to policies: versions, activation, bindings. Each change is audited and
 * drops PolicyService's cache, so the next decision sees it.
 */
@Injectable()
export class PolicyAdminService {
  constructor(
    private readonly repo: PolicyRepository,
    private readonly decisions: PolicyService,
    private readonly audit: AuditService,
  ) {}

  /** Same document (after normalization) → same version id; a repeat creates nothing. */
  async createVersion(
    by: Caller,
    input: unknown,
  ): Promise<{ version: PolicyVersionRecord; created: boolean }> {
    const doc = parseDocumentOrThrow(input, 'body');
    const id = policyVersionId(doc);
    const result = await this.repo.ds.transaction(async (m) => {
      await this.repo.ensurePolicy(doc.name, by.principal.id, m);
      return this.repo.insertVersion({ id, policy: doc.name, document: doc, createdBy: by.principal.id }, m);
    });
    if (result.created) {
      this.decisions.invalidate();
      await this.audit.record({
        type: 'policy.version.created',
        principal: by.principal.id,
        source: by.source,
        subject: doc.name,
        policyHash: id,
        payload: { policy: doc.name, versionId: id, document: doc },
      });
    }
    return result;
  }

  async list(): Promise<PolicyView[]> {
    const [policies, bindings] = await Promise.all([this.repo.listPolicies(), this.repo.listBindings()]);
    return Promise.all(policies.map((p) => this.view(p, bindings)));
  }

  async get(name: string): Promise<PolicyView> {
    const p = await this.repo.findPolicy(name);
    if (!p) throw notFound(name);
    return this.view(p, await this.repo.listBindings(name));
  }

  async versions(name: string): Promise<Array<PolicyVersionRecord & { active: boolean }>> {
    const p = await this.repo.findPolicy(name);
    if (!p) throw notFound(name);
    return (await this.repo.listVersions(name)).map((v) => ({ ...v, active: v.id === p.activeVersion }));
  }

  async activate(by: Caller, name: string, versionId: string): Promise<PolicyView> {
    const version = await this.repo.findVersion(versionId);
    if (!(await this.repo.findPolicy(name))) throw notFound(name);
    if (!version || version.policy !== name)
      throw new WardenError(
        'POLICY_VERSION_NOT_FOUND',
        `policy ${name} has no version ${versionId}; GET /policies/${name}/versions lists them`,
        { policy: name, versionId },
      );
    const res = await this.repo.activate(name, versionId);
    if (!res) throw notFound(name);
    this.decisions.invalidate();
    if (res.previous !== versionId)
      await this.audit.record({
        type: 'policy.activated',
        principal: by.principal.id,
        source: by.source,
        subject: name,
        policyHash: versionId,
        payload: { policy: name, versionId, previous: res.previous },
      });
    return this.get(name);
  }

  /**
   * A subject is bound to one policy at a time. Binding it elsewhere needs `replace`, so an
   * admin cannot silently move a team (or everyone) off the policy it was on.
   */
  async bind(
    by: Caller,
    name: string,
    b: { kind: BindingKind; value?: string; replace?: boolean },
  ): Promise<{ binding: BindingRecord; created: boolean }> {
    if (!(await this.repo.findPolicy(name))) throw notFound(name);
    const value = b.kind === 'everyone' ? EVERYONE : (b.value as string);
    const subject = { policy: name, kind: b.kind, value, createdBy: by.principal.id };
    let binding = await this.repo.insertBinding({ id: randomUUID(), ...subject });
    let previous: string | null = null;
    if (!binding) {
      const existing = await this.repo.findBinding(b.kind, value);
      if (existing?.policy === name) return { binding: existing, created: false };
      if (existing && !b.replace)
        throw new WardenError(
          'POLICY_BINDING_CONFLICT',
          `${b.kind === 'everyone' ? 'everyone' : `${b.kind} ${value}`} is already bound to policy ${existing.policy}; ` +
            `send "replace": true to move it to ${name}, or DELETE that binding first`,
          { kind: b.kind, value, boundTo: existing.policy },
        );
      previous = existing?.policy ?? null;
      binding = existing
        ? await this.repo.rebind(subject)
        : await this.repo.insertBinding({ id: randomUUID(), ...subject });
      if (!binding)
        throw new WardenError('POLICY_BINDING_CONFLICT', 'the binding changed concurrently; retry', {
          kind: b.kind,
          value,
        });
    }
    this.decisions.invalidate();
    await this.audit.record({
      type: 'policy.bound',
      principal: by.principal.id,
      source: by.source,
      subject: name,
      payload: { policy: name, kind: b.kind, value, previous },
    });
    return { binding, created: true };
  }

  async unbind(by: Caller, name: string, kind: BindingKind, value?: string): Promise<BindingRecord> {
    if (!(await this.repo.findPolicy(name))) throw notFound(name);
    const v = kind === 'everyone' ? EVERYONE : (value as string);
    const removed = await this.repo.deleteBinding(name, kind, v);
    if (!removed)
      throw new WardenError(
        'POLICY_BINDING_NOT_FOUND',
        `policy ${name} is not bound to ${kind === 'everyone' ? 'everyone' : `${kind} ${v}`}`,
        { policy: name, kind, value: v },
      );
    this.decisions.invalidate();
    await this.audit.record({
      type: 'policy.unbound',
      principal: by.principal.id,
      source: by.source,
      subject: name,
      payload: { policy: name, kind, value: v },
    });
    return removed;
  }

  private async view(p: PolicyRecord, bindings: BindingRecord[]): Promise<PolicyView> {
    const active = p.activeVersion ? await this.repo.findVersion(p.activeVersion) : undefined;
    return {
      ...p,
      mode: active?.document.mode ?? null,
      document: active?.document ?? null,
      bindings: bindings
        .filter((b) => b.policy === p.name)
        .map(({ kind, value, createdBy, createdAt }) => ({ kind, value, createdBy, createdAt })),
    };
  }
}
