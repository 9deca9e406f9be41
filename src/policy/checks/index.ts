import { bindMountsCheck } from './bind-mounts.check';
import { capabilitiesCheck } from './capabilities.check';
import type { Check } from './check-result';
import { devicesCheck } from './devices.check';
import { digestPinningCheck } from './digest-pinning.check';
import { hostNamespacesCheck } from './host-namespaces.check';
import { imageSourceCheck } from './image-source.check';
import { latestTagCheck } from './latest-tag.check';
import { privilegedCheck } from './privileged.check';
import { requiredLabelsCheck } from './required-labels.check';
import { resourceLimitsCheck } from './resource-limits.check';
import { volumeDriversCheck } from './volume-drivers.check';
import { volumeOptionsCheck } from './volume-options.check';
import type { VolumeCheck } from './check-result';

export * from './check-result';
export {
  bindMountsCheck,
  capabilitiesCheck,
  devicesCheck,
  digestPinningCheck,
  hostNamespacesCheck,
  imageSourceCheck,
  latestTagCheck,
  privilegedCheck,
  requiredLabelsCheck,
  resourceLimitsCheck,
  volumeDriversCheck,
  volumeOptionsCheck,
};

/** Every check, in the order reasons are listed in a decision (stable, so decisions diff cleanly). */
export const ALL_CHECKS: readonly Check[] = [
  resourceLimitsCheck,
  imageSourceCheck,
  digestPinningCheck,
  latestTagCheck,
  privilegedCheck,
  hostNamespacesCheck,
  capabilitiesCheck,
  bindMountsCheck,
  devicesCheck,
  requiredLabelsCheck,
];

/** Every check of a volume's creation, in the order reasons are listed. */
export const VOLUME_CHECKS: readonly VolumeCheck[] = [volumeDriversCheck, volumeOptionsCheck];
