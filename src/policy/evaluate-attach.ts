import { attachCheck } from './checks/attach.check';
import type { CheckContext, Reason } from './checks';
import {
  decisionOf,
  exceptionApplies,
  type Decision,
  type EvaluatedPolicy,
  type Exception,
  type Principal,
  type WaivedReason,
} from './evaluate';
import type { AttachSpec } from './spec/attach-spec';

/** An attach against a policy: its check, with exceptions as for execs, decided by mode. Pure. */
export function evaluateAttach(input: {
  policy: EvaluatedPolicy;
  spec: AttachSpec;
  principal: Principal;
  exceptions: readonly Exception[];
  now: Date;
}): Decision {
  const { policy, spec, principal, now } = input;
  const ctx: CheckContext = { policyName: policy.name };
  const reasons: Reason[] = [];
  const waived: WaivedReason[] = [];
  const image = { image: spec.container.image };
  for (const reason of attachCheck(spec, policy.doc.rules, ctx)) {
    const exc = input.exceptions.find((e) => exceptionApplies(e, reason, image, principal, now));
    if (exc) waived.push({ ...reason, exceptionId: exc.id });
    else reasons.push(reason);
  }
  return decisionOf(policy, reasons, waived);
}
