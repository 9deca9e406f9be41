import { IMAGE_CONTENT_CHECKS, PUSH_CHECKS, type CheckContext, type Reason } from './checks';
import { decisionOf, type Decision, type EvaluatedPolicy } from './evaluate';
import type { ImageContentSpec } from './spec/image-content';
import type { PushSpec } from './spec/push-spec';

/**
 * What an image's layers hold against a policy, decided by mode. Pure. Exceptions do not
 * apply here: they waive a launch rule for an image reference, and this is judged after it.
 */
export function evaluateImageContent(policy: EvaluatedPolicy, image: ImageContentSpec): Decision {
  const ctx: CheckContext = { policyName: policy.name };
  const reasons: Reason[] = IMAGE_CONTENT_CHECKS.flatMap((check) => check(image, policy.doc.rules, ctx));
  return decisionOf(policy, reasons);
}

/** A push against a policy, decided by mode. Pure; exceptions do not apply (they waive launch rules). */
export function evaluatePush(policy: EvaluatedPolicy, push: PushSpec): Decision {
  const ctx: CheckContext = { policyName: policy.name };
  return decisionOf(
    policy,
    PUSH_CHECKS.flatMap((check) => check(push, policy.doc.rules, ctx)),
  );
}
