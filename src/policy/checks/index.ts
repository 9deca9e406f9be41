import { bindMountsCheck } from './bind-mounts.check';
import { blockIoCheck } from './block-io.check';
import { capabilitiesCheck } from './capabilities.check';
import type { Check } from './check-result';
import { devicesCheck } from './devices.check';
import { egressCheck } from './egress.check';
import { digestPinningCheck } from './digest-pinning.check';
import { execAllowedCheck } from './exec-allowed.check';
import { execEnvCheck } from './exec-env.check';
import { execPrivilegedCheck } from './exec-privileged.check';
import { execUserCheck } from './exec-user.check';
import { logLimitsCheck } from './log-limits.check';
import { hostNamespacesCheck } from './host-namespaces.check';
import { imageDeviceNodesCheck } from './image-device-nodes.check';
import { imageSourceCheck } from './image-source.check';
import { latestTagCheck } from './latest-tag.check';
import { memorySwapCheck } from './memory-swap.check';
import { networkModeCheck } from './network-mode.check';
import { privilegedCheck } from './privileged.check';
import { publishedPortsCheck } from './published-ports.check';
import { pushDestinationsCheck } from './push-destinations.check';
import type { PushCheck } from './push-destinations.check';
import { requiredLabelsCheck } from './required-labels.check';
import { resourceLimitsCheck } from './resource-limits.check';
import { restartPolicyCheck } from './restart-policy.check';
import { seccompCheck } from './seccomp.check';
import { sysctlsCheck } from './sysctls.check';
import { ulimitsCheck } from './ulimits.check';
import { volumeDriversCheck } from './volume-drivers.check';
import { volumeOptionsCheck } from './volume-options.check';
import type { ExecCheck, ImageContentCheck, VolumeCheck } from './check-result';

export * from './check-result';
export {
  bindMountsCheck,
  blockIoCheck,
  capabilitiesCheck,
  devicesCheck,
  digestPinningCheck,
  egressCheck,
  execAllowedCheck,
  execEnvCheck,
  execPrivilegedCheck,
  execUserCheck,
  hostNamespacesCheck,
  imageDeviceNodesCheck,
  imageSourceCheck,
  latestTagCheck,
  logLimitsCheck,
  memorySwapCheck,
  networkModeCheck,
  privilegedCheck,
  publishedPortsCheck,
  pushDestinationsCheck,
  requiredLabelsCheck,
  resourceLimitsCheck,
  restartPolicyCheck,
  seccompCheck,
  sysctlsCheck,
  ulimitsCheck,
  volumeDriversCheck,
  volumeOptionsCheck,
};
export type { PushCheck };

/** Every check, in the order reasons are listed in a decision (stable, so decisions diff cleanly). */
export const ALL_CHECKS: readonly Check[] = [
  resourceLimitsCheck,
  blockIoCheck,
  memorySwapCheck,
  ulimitsCheck,
  sysctlsCheck,
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
  egressCheck,
  requiredLabelsCheck,
  restartPolicyCheck,
];

/** Every check of a volume's creation, in the order reasons are listed. */
export const VOLUME_CHECKS: readonly VolumeCheck[] = [volumeDriversCheck, volumeOptionsCheck];

/** Every check of what an image's layers hold, judged when they are unpacked for a launch. */
export const IMAGE_CONTENT_CHECKS: readonly ImageContentCheck[] = [imageDeviceNodesCheck];

/** Every check of a push (issue 17 point 6). */
export const PUSH_CHECKS: readonly PushCheck[] = [pushDestinationsCheck];
/** Every check of an exec into a running container, in the order reasons are listed. */
export const EXEC_CHECKS: readonly ExecCheck[] = [
  execAllowedCheck,
  execUserCheck,
  execPrivilegedCheck,
  execEnvCheck,
];
