import { attachCheck } from './checks/attach.check';
import type { CheckContext } from './checks';
import { decisionOf, waiveByExceptions, type ActionInput, type Decision } from './evaluate';
import type { AttachSpec } from './spec/attach-spec';

/** An attach against a policy: its check, with exceptions as for execs, decided by mode. Pure. */
export function evaluateAttach(input: ActionInput<AttachSpec>): Decision {
  const { policy, spec, principal, now } = input;
  const ctx: CheckContext = { policyName: policy.name };
  const found = attachCheck(spec, policy.doc.rules, ctx);
  const image = { image: spec.container.image };
  const { reasons, waived } = waiveByExceptions(found, input.exceptions, image, principal, now);
  return decisionOf(policy, reasons, waived);
}
