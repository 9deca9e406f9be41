import { CreateAuditEvents1795810430406 } from './1795810430406-CreateAuditEvents';
import { CreatePrincipalsAndTokens1795810430407 } from './1795810430407-CreatePrincipalsAndTokens';
import { CreatePolicies1795810430500 } from './1795810430500-CreatePolicies';
import { CreateImages1795810430600 } from './1795810430600-CreateImages';
import { CreateImageOrigins1795810430610 } from './1795810430610-CreateImageOrigins';
import { CreateContainers1795810430700 } from './1795810430700-CreateContainers';
import { CreateSocketPrincipals1795810430800 } from './1795810430800-CreateSocketPrincipals';
import { CreateUsageSamples1795810430900 } from './1795810430900-CreateUsageSamples';
import { CreateReports1795810431000 } from './1795810431000-CreateReports';
import { CreateRegistryUpstreams1795810431100 } from './1795810431100-CreateRegistryUpstreams';
import { CreateNetworks1796233597437 } from './1796233597437-CreateNetworks';
import { AddUsageBlockIo1796238770481 } from './1796238770481-AddUsageBlockIo';
import { CreateExecRequests1796287400000 } from './1796287400000-CreateExecRequests';
import { AddUsageVolumeBytes1796312000000 } from './1796312000000-AddUsageVolumeBytes';
import { CreateNodes1796313000000 } from './1796313000000-CreateNodes';
import { AddLaunchDispatch1796313100000 } from './1796313100000-AddLaunchDispatch';
import { CreateDecisionRollups1796314000000 } from './1796314000000-CreateDecisionRollups';
import { AddNetworkIpv61796320000000 } from './1796320000000-AddNetworkIpv6';
import { CreateVolumes1796233770874 } from './1796233770874-CreateVolumes';
import { AllowPausedContainers1796236776426 } from './1796236776426-AllowPausedContainers';
import { AddTeamOwnership1796282737227 } from './1796282737227-AddTeamOwnership';
import { AddRestartAndHealth1796282813460 } from './1796282813460-AddRestartAndHealth';
import { AddKubernetesBindingKinds1796306751891 } from './1796306751891-AddKubernetesBindingKinds';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works from
 * compiled JavaScript and from TypeScript under the test runner.
 */
export const MIGRATIONS = [
  CreateAuditEvents1795810430406,
  CreatePrincipalsAndTokens1795810430407,
  CreatePolicies1795810430500,
  CreateImages1795810430600,
  CreateImageOrigins1795810430610,
  CreateContainers1795810430700,
  CreateSocketPrincipals1795810430800,
  CreateUsageSamples1795810430900,
  CreateReports1795810431000,
  CreateRegistryUpstreams1795810431100,
  CreateNetworks1796233597437,
  CreateVolumes1796233770874,
  AllowPausedContainers1796236776426,
  AddUsageBlockIo1796238770481,
  AddTeamOwnership1796282737227,
  AddRestartAndHealth1796282813460,
  CreateExecRequests1796287400000,
  AddKubernetesBindingKinds1796306751891,
  AddUsageVolumeBytes1796312000000,
  CreateNodes1796313000000,
  AddLaunchDispatch1796313100000,
  CreateDecisionRollups1796314000000,
  AddNetworkIpv61796320000000,
];
