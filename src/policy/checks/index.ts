import { bindMountsCheck } from './bind-mounts.check';
import { blockIoCheck } from './block-io.check';
import { capabilitiesCheck } from './capabilities.check';
import type { Check } from './check-result';
import { devicesCheck } from './devices.check';
import { digestPinningCheck } from './digest-pinning.check';
import { hostNamespacesCheck } from './host-namespaces.check';
import { imageSourceCheck } from './image-source.check';
import { latestTagCheck } from './latest-tag.check';
import { memorySwapCheck } from './memory-swap.check';
import { networkModeCheck } from './network-mode.check';
import { privilegedCheck } from './privileged.check';
import { publishedPortsCheck } from './published-ports.check';
import { requiredLabelsCheck } from './required-labels.check';
import { resourceLimitsCheck } from './resource-limits.check';
import { restartPolicyCheck } from './restart-policy.check';
import { seccompCheck } from './seccomp.check';
import { ulimitsCheck } from './ulimits.check';
import { volumeDriversCheck } from './volume-drivers.check';
import { volumeOptionsCheck } from './volume-options.check';
import type { VolumeCheck } from './check-result';

export * from './check-result';
export {
  bindMountsCheck,
  blockIoCheck,
  capabilitiesCheck,
  devicesCheck,
  digestPinningCheck,
  hostNamespacesCheck,
  imageSourceCheck,
  latestTagCheck,
  memorySwapCheck,
  networkModeCheck,
  privilegedCheck,
  publishedPortsCheck,
  requiredLabelsCheck,
  resourceLimitsCheck,
  restartPolicyCheck,
  seccompCheck,
  ulimitsCheck,
  volumeDriversCheck,
  volumeOptionsCheck,
};

/** Every check, in the order reasons are listed in a decision (stable, so decisions diff cleanly). */
export const ALL_CHECKS: readonly Check[] = [
  resourceLimitsCheck,
  blockIoCheck,
  memorySwapCheck,
  ulimitsCheck,
  imageSourceCheck,
  digestPinningCheck,
  latestTagCheck,
  privilegedCheck,
  hostNamespacesCheck,
  capabilitiesCheck,
  bindMountsCheck,
  devicesCheck,
  seccompCheck,
  networkModeCheck,
  publishedPortsCheck,
  requiredLabelsCheck,
  restartPolicyCheck,
];

/** Every check of a volume's creation, in the order reasons are listed. */
export const VOLUME_CHECKS: readonly VolumeCheck[] = [volumeDriversCheck, volumeOptionsCheck];
