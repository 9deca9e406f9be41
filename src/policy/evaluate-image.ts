import { IMAGE_CONTENT_CHECKS, type CheckContext, type Reason } from './checks';
import { decisionOf, type Decision, type EvaluatedPolicy } from './evaluate';
import type { ImageContentSpec } from './spec/image-content';

/**
 * What an image's layers hold against a policy, decided by mode. Pure. Exceptions do not
 * apply here: they waive a launch rule for an image reference, and this is judged after it.
 */
export function evaluateImageContent(policy: EvaluatedPolicy, image: ImageContentSpec): Decision {
  const ctx: CheckContext = { policyName: policy.name };
  const reasons: Reason[] = IMAGE_CONTENT_CHECKS.flatMap((check) => check(image, policy.doc.rules, ctx));
  return decisionOf(policy, reasons);
}
