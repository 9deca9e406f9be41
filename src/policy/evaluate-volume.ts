import { VOLUME_CHECKS, type CheckContext, type Reason } from './checks';
import { decisionOf, type Decision, type EvaluatedPolicy } from './evaluate';
import type { VolumeSpec } from './spec/volume-spec';

export interface VolumeEvaluation {
  decision: Decision;
  /** The volume with the policy's default size filled in when it asked for none. */
  effectiveVolume: VolumeSpec;
}

/**
 * A volume's creation against a policy: the default size first (so the cap applies to what is
 * made), then every volume check, decided by mode. Pure. Exceptions do not apply: they waive
 * a rule for an image, and a volume has none.
 */
export function evaluateVolume(policy: EvaluatedPolicy, vol: VolumeSpec): VolumeEvaluation {
  const size = policy.doc.rules.volumes?.size;
  const effectiveVolume =
    vol.sizeBytes === undefined && size?.default !== undefined ? { ...vol, sizeBytes: size.default } : vol;
  const ctx: CheckContext = { policyName: policy.name };
  const reasons: Reason[] = VOLUME_CHECKS.flatMap((check) => check(effectiveVolume, policy.doc.rules, ctx));
  return { decision: decisionOf(policy, reasons), effectiveVolume };
}
