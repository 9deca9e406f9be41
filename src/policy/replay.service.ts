import { Injectable } from '@nestjs/common';
import { realpathSync } from 'node:fs';
import { WardenError } from '../platform/errors';
import { evaluatePolicy, formatImageReference, policyVersionId } from './core';
import type { EvaluatedPolicy, Reason } from './core';
import { ExceptionRepository } from './exception.repository';
import { parseDocumentOrThrow } from './policy-admin.service';
import { PolicyRepository } from './policy.repository';

export interface ReplayInput {
  /** A stored version id, or a policy document not (necessarily) stored yet. */
  candidate: string | Record<string, unknown>;
  from: Date;
  to: Date;
  limit: number;
}

export type Change = 'allowed-to-denied' | 'denied-to-allowed';

export interface ReplayChange {
  launchRequestId: string;
  principal: string;
  at: string;
  image: string;
  change: Change;
  before: { allowed: boolean; policy: string | null; policyVersion: string | null; reasons: Reason[] };
  after: { allowed: boolean; reasons: Reason[] };
}

export interface ReplayReport {
  candidate: { policy: string; versionId: string; mode: string; stored: boolean };
  window: { from: string; to: string };
  replayed: number;
  /** More requests fell in the window than `limit`; narrow it or raise the limit. */
  truncated: boolean;
  unchanged: number;
  allowedToDenied: number;
  deniedToAllowed: number;
  changes: ReplayChange[];
}

/**
 * Replay (issue 3): the candidate policy over the launch requests recorded in a window, each
 * judged as of its own time — same principal and teams, the exceptions that existed and had
 * not expired then — so the only difference from the recorded decision is the policy.
 */
@Injectable()
export class ReplayService {
  constructor(
    private readonly policies: PolicyRepository,
    private readonly exceptions: ExceptionRepository,
  ) {}

  async replay(input: ReplayInput): Promise<ReplayReport> {
    const candidate = await this.candidate(input.candidate);
    const [requests, exceptions] = await Promise.all([
      this.policies.listLaunchRequests(input.from, input.to, input.limit + 1),
      this.exceptions.listOverlapping(input.from, input.to),
    ]);
    const truncated = requests.length > input.limit;
    if (truncated) requests.length = input.limit;

    const changes: ReplayChange[] = [];
    for (const r of requests) {
      const { decision } = evaluatePolicy({
        policy: candidate.policy,
        spec: r.spec,
        principal: { id: r.principal, teams: r.principalTeams },
        exceptions: exceptions.filter((e) => e.createdAt <= r.createdAt),
        now: r.createdAt,
        realpath: (p) => realpathSync(p),
      });
      if (decision.allowed === r.decision.allowed) continue;
      changes.push({
        launchRequestId: r.id,
        principal: r.principal,
        at: r.createdAt.toISOString(),
        image: formatImageReference(r.spec.image),
        change: r.decision.allowed ? 'allowed-to-denied' : 'denied-to-allowed',
        before: {
          allowed: r.decision.allowed,
          policy: r.decision.policy,
          policyVersion: r.decision.policyVersion,
          reasons: r.decision.reasons,
        },
        after: { allowed: decision.allowed, reasons: decision.reasons },
      });
    }
    const allowedToDenied = changes.filter((c) => c.change === 'allowed-to-denied').length;
    return {
      candidate: {
        policy: candidate.policy.name,
        versionId: candidate.policy.versionId,
        mode: candidate.policy.doc.mode,
        stored: candidate.stored,
      },
      window: { from: input.from.toISOString(), to: input.to.toISOString() },
      replayed: requests.length,
      truncated,
      unchanged: requests.length - changes.length,
      allowedToDenied,
      deniedToAllowed: changes.length - allowedToDenied,
      changes,
    };
  }

  private async candidate(
    c: ReplayInput['candidate'],
  ): Promise<{ policy: EvaluatedPolicy; stored: boolean }> {
    if (typeof c === 'string') {
      const v = await this.policies.findVersion(c);
      if (!v)
        throw new WardenError('POLICY_VERSION_NOT_FOUND', `body.candidate: no policy version ${c}`, {
          versionId: c,
        });
      return { policy: { name: v.policy, versionId: v.id, doc: v.document }, stored: true };
    }
    const doc = parseDocumentOrThrow(c, 'body.candidate');
    const versionId = policyVersionId(doc);
    const stored = (await this.policies.findVersion(versionId)) !== undefined;
    return { policy: { name: doc.name, versionId, doc }, stored };
  }
}
