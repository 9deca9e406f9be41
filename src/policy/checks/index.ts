import { bindMountsCheck } from './bind-mounts.check';
import { blockIoCheck } from './block-io.check';
import { capabilitiesCheck } from './capabilities.check';
import type { Check } from './check-result';
import { devicesCheck } from './devices.check';
import { digestPinningCheck } from './digest-pinning.check';
import { execAllowedCheck } from './exec-allowed.check';
import { execEnvCheck } from './exec-env.check';
import { execPrivilegedCheck } from './exec-privileged.check';
import { execUserCheck } from './exec-user.check';
import { logLimitsCheck } from './log-limits.check';
import { hostNamespacesCheck } from './host-namespaces.check';
import { imageSourceCheck } from './image-source.check';
import { latestTagCheck } from './latest-tag.check';
import { memorySwapCheck } from './memory-swap.check';
import { networkModeCheck } from './network-mode.check';
import { privilegedCheck } from './privileged.check';
import { publishedPortsCheck } from './published-ports.check';
import { requiredLabelsCheck } from './required-labels.check';
import { resourceLimitsCheck } from './resource-limits.check';
import { seccompCheck } from './seccomp.check';
import { ulimitsCheck } from './ulimits.check';
import { volumeDriversCheck } from './volume-drivers.check';
import { volumeOptionsCheck } from './volume-options.check';
import type { ExecCheck, VolumeCheck } from './check-result';

export * from './check-result';
export {
  bindMountsCheck,
  blockIoCheck,
  capabilitiesCheck,
  devicesCheck,
  digestPinningCheck,
  execAllowedCheck,
  execEnvCheck,
  execPrivilegedCheck,
  execUserCheck,
  hostNamespacesCheck,
  imageSourceCheck,
  latestTagCheck,
  logLimitsCheck,
  memorySwapCheck,
  networkModeCheck,
  privilegedCheck,
  publishedPortsCheck,
  requiredLabelsCheck,
  resourceLimitsCheck,
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
  logLimitsCheck,
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
];

/** Every check of a volume's creation, in the order reasons are listed. */
export const VOLUME_CHECKS: readonly VolumeCheck[] = [volumeDriversCheck, volumeOptionsCheck];

/** Every check of an exec into a running container, in the order reasons are listed. */
export const EXEC_CHECKS: readonly ExecCheck[] = [
  execAllowedCheck,
  execUserCheck,
  execPrivilegedCheck,
  execEnvCheck,
];
