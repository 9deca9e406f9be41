import { EXEC_CHECKS, type CheckContext, type Reason } from './checks';
import {
  decisionOf,
  exceptionApplies,
  type Decision,
  type EvaluatedPolicy,
  type Exception,
  type Principal,
  type WaivedReason,
} from './evaluate';
import type { ExecSpec } from './spec/exec-spec';

/** What the runtime must do beyond launching when the exec is allowed. */
export interface ExecObligations {
  /** The session is recorded, at most this many bytes (the policy's, or Warden's default). */
  recording?: { maxBytes: number };
}

export interface ExecEvaluation {
  decision: Decision;
  obligations: ExecObligations;
}

/**
 * An exec against a policy (issue 15): every exec check, with exceptions applying as they do
 * to launches (a rule, a principal or team, the container's image), decided by mode. Pure.
 */
export function evaluateExec(input: {
  policy: EvaluatedPolicy;
  spec: ExecSpec;
  principal: Principal;
  exceptions: readonly Exception[];
  now: Date;
  /** Warden's transcript cap when the policy requires recording without giving one. */
  defaultRecordingBytes: number;
}): ExecEvaluation {
  const { policy, spec, principal, now } = input;
  const ctx: CheckContext = { policyName: policy.name };
  const reasons: Reason[] = [];
  const waived: WaivedReason[] = [];
  const image = { image: spec.container.image };
  for (const check of EXEC_CHECKS)
    for (const reason of check(spec, policy.doc.rules, ctx)) {
      const exc = input.exceptions.find((e) => exceptionApplies(e, reason, image, principal, now));
      if (exc) waived.push({ ...reason, exceptionId: exc.id });
      else reasons.push(reason);
    }
  const rec = policy.doc.rules.exec?.recording;
  const obligations: ExecObligations = rec?.required
    ? { recording: { maxBytes: rec.maxBytes ?? input.defaultRecordingBytes } }
    : {};
  return { decision: decisionOf(policy, reasons, waived), obligations };
}
