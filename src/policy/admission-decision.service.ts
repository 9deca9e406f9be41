import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CallerSource } from '../platform/http';
import { auditDecisionOf, PolicyService } from './policy.service';
import { formatImageReference } from './core';
import type { ContainerSpec, Decision, DefaultApplied, Principal, Reason, WaivedReason } from './core';

/** One container of a reviewed object, already mapped to the spec a docker run becomes. */
export interface AdmissionContainer {
  name: string;
  type: 'container' | 'initContainer' | 'ephemeralContainer';
  spec: ContainerSpec;
}

export interface AdmissionInput {
  principal: Principal;
  source: CallerSource;
  /** The audit event's subject: the object's uid, or kind/namespace/name before it has one. */
  subject: string;
  containers: AdmissionContainer[];
  /** Problems mapping the object (a quantity that is no size…): they deny whatever the mode. */
  problems: Reason[];
  /**
   * `launches`: each container is also a launch request (replay): the event carries them and
   * the chain's commit writes their rows. `decision`: only the event (a dryRun review, the
   * mutating webhook).
   */
  record: 'launches' | 'decision';
  /** The review: Kubernetes user, object, operation, dryRun… kept in the event's payload. */
  payload: Record<string, unknown>;
}

export interface AdmittedContainer {
  name: string;
  type: AdmissionContainer['type'];
  decision: Decision;
  effectiveSpec: ContainerSpec;
  launchRequestId?: string;
}

export interface AdmissionResult {
  /** Every container's reasons together (each message naming its container). */
  decision: Decision;
  containers: AdmittedContainer[];
}

const named = (c: AdmissionContainer) => `${c.type === 'container' ? 'container' : c.type} "${c.name}"`;

/**
 * A Kubernetes review (issue 18) as one decision: each container judged by the policy bound to
 * the review's Kubernetes subjects, exactly as a docker run of the same spec; the review is
 * allowed when every container is. Recorded as one `policy.decision` event (action `admission`)
 * made durable before the answer; an event that cannot be made durable is a 503 and the review
 * is not admitted (fail closed). Its launch requests ride in the event: a review acts on
 * nothing, so no row must exist before it (audit/admission-launches.ts).
 */
@Injectable()
export class AdmissionDecisionService {
  constructor(private readonly policy: PolicyService) {}

  async decide(input: AdmissionInput): Promise<AdmissionResult> {
    const containers: AdmittedContainer[] = [];
    for (const c of input.containers) {
      const { decision, effectiveSpec } = await this.policy.evaluateBound(
        input.principal,
        c.spec,
        undefined,
        {
          hostPathsHere: false,
        },
      );
      containers.push({ name: c.name, type: c.type, decision, effectiveSpec });
    }
    const decision = aggregate(input, containers);
    if (input.record === 'launches') for (const c of containers) c.launchRequestId = randomUUID();
    // One durable write: the event carries the launch requests, and the chain's commit writes
    // their rows (audit/admission-launches.ts). Not durable in Redis: 503, nothing recorded.
    await this.policy.recordDecision(
      'admission',
      input.subject,
      async () => undefined,
      async () => undefined,
      this.event(input, decision, containers),
    );
    return { decision, containers };
  }

  private event(input: AdmissionInput, decision: Decision, containers: AdmittedContainer[]) {
    const first = containers[0]?.effectiveSpec;
    return {
      type: 'policy.decision' as const,
      principal: input.principal.id,
      source: input.source,
      subject: input.subject,
      decision: auditDecisionOf(decision),
      policyHash: decision.policyVersion ?? undefined,
      payload: {
        action: 'admission',
        ...input.payload,
        // What the compliance report reads: the first image, the pod's labels, the subjects.
        image: first ? formatImageReference(first.image) : undefined,
        spec: first ? { labels: first.labels, image: first.image } : undefined,
        teams: input.principal.teams,
        containers: containers.map((c, i) => ({
          name: c.name,
          type: c.type,
          launchRequestId: c.launchRequestId,
          // The spec as asked (before defaults): what the launch request row keeps for replay.
          ...(c.launchRequestId ? { requested: input.containers[i].spec } : {}),
          image: formatImageReference(c.effectiveSpec.image),
          spec: c.effectiveSpec,
          decision: c.decision,
        })),
        decision,
      },
    };
  }
}

/** Allowed only when every container is (and the object mapped); reasons name their container. */
function aggregate(input: AdmissionInput, containers: AdmittedContainer[]): Decision {
  const reasons: Reason[] = [...input.problems];
  const waived: WaivedReason[] = [];
  const defaultsApplied: Array<DefaultApplied & { container: string }> = [];
  containers.forEach((c, i) => {
    const who = named(input.containers[i]);
    for (const r of c.decision.reasons)
      reasons.push({ ...r, message: `${who}: ${r.message}`, detail: { ...r.detail, container: c.name } });
    for (const w of c.decision.waived)
      waived.push({ ...w, message: `${who}: ${w.message}`, detail: { ...w.detail, container: c.name } });
    for (const d of c.decision.defaultsApplied) defaultsApplied.push({ ...d, container: c.name });
  });
  const base = containers[0]?.decision;
  const allowed = input.problems.length === 0 && containers.every((c) => c.decision.allowed);
  return {
    allowed,
    mode: base?.mode ?? 'enforce',
    policy: base?.policy ?? null,
    policyVersion: base?.policyVersion ?? null,
    reasons,
    waived,
    defaultsApplied,
  };
}
