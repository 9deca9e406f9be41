import { Injectable } from '@nestjs/common';
import { realpathSync } from 'node:fs';
import { WardenError } from '../platform/errors';
import { evaluateExec, evaluatePolicy, formatImageReference, policyVersionId } from './core';
import type { EvaluatedPolicy, Reason } from './core';
import { ExceptionRepository } from './exception.repository';
import { ExecRequestRepository, type ExecRequestRecord } from './exec-request.repository';
import type { Decision, Exception } from './evaluate';
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

/** An exec whose decision the candidate would change (issue 15). */
export interface ExecReplayChange {
  execId: string;
  principal: string;
  at: string;
  container: string;
  image: string;
  cmd: string[];
  change: Change;
  before: ReplayChange['before'];
  after: ReplayChange['after'];
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
  /** The execs recorded in the window, judged by the candidate's exec rules the same way. */
  execs: {
    replayed: number;
    truncated: boolean;
    unchanged: number;
    allowedToDenied: number;
    deniedToAllowed: number;
    changes: ExecReplayChange[];
  };
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
    private readonly execRequests: ExecRequestRepository,
  ) {}

  async replay(input: ReplayInput): Promise<ReplayReport> {
    const candidate = await this.candidate(input.candidate);
    const [requests, exceptions, execs] = await Promise.all([
      this.policies.listLaunchRequests(input.from, input.to, input.limit + 1),
      this.exceptions.listOverlapping(input.from, input.to),
      this.execRequests.list(input.from, input.to, input.limit + 1),
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
        image: formatImageReference(r.spec.image),
        ...changeOf(r, decision),
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
      execs: replayExecs(candidate.policy, execs, exceptions, input.limit),
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

/** What a recorded decision and the candidate's say, for a request whose outcome changed. */
function changeOf(
  r: { principal: string; createdAt: Date; decision: Decision },
  decision: Decision,
): Pick<ReplayChange, 'principal' | 'at' | 'change' | 'before' | 'after'> {
  return {
    principal: r.principal,
    at: r.createdAt.toISOString(),
    change: r.decision.allowed ? 'allowed-to-denied' : 'denied-to-allowed',
    before: {
      allowed: r.decision.allowed,
      policy: r.decision.policy,
      policyVersion: r.decision.policyVersion,
      reasons: r.decision.reasons,
    },
    after: { allowed: decision.allowed, reasons: decision.reasons },
  };
}

function replayExecs(
  policy: EvaluatedPolicy,
  execs: ExecRequestRecord[],
  exceptions: Array<Exception & { createdAt: Date }>,
  limit: number,
): ReplayReport['execs'] {
  const truncated = execs.length > limit;
  if (truncated) execs.length = limit;
  const changes: ExecReplayChange[] = [];
  for (const r of execs) {
    const { decision } = evaluateExec({
      policy,
      spec: r.spec,
      principal: { id: r.principal, teams: r.principalTeams },
      exceptions: exceptions.filter((e) => e.createdAt <= r.createdAt),
      now: r.createdAt,
      defaultRecordingBytes: 0, // an obligation, not part of the decision
    });
    if (decision.allowed === r.decision.allowed) continue;
    changes.push({
      execId: r.id,
      container: r.spec.container.name,
      image: formatImageReference(r.spec.container.image),
      cmd: r.spec.cmd,
      ...changeOf(r, decision),
    });
  }
  const allowedToDenied = changes.filter((c) => c.change === 'allowed-to-denied').length;
  return {
    replayed: execs.length,
    truncated,
    unchanged: execs.length - changes.length,
    allowedToDenied,
    deniedToAllowed: changes.length - allowedToDenied,
    changes,
  };
}
