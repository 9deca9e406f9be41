import { CreateAuditEvents1795810430406 } from './1795810430406-CreateAuditEvents';
import { CreatePrincipalsAndTokens1795810430407 } from './1795810430407-CreatePrincipalsAndTokens';
import { CreatePolicies1795810430500 } from './1795810430500-CreatePolicies';
import { CreateImages1795810430600 } from './1795810430600-CreateImages';
import { CreateContainers1795810430700 } from './1795810430700-CreateContainers';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works from
 * compiled JavaScript and from TypeScript under the test runner.
 */
export const MIGRATIONS = [
  CreateAuditEvents1795810430406,
  CreatePrincipalsAndTokens1795810430407,
  CreatePolicies1795810430500,
  CreateImages1795810430600,
  CreateContainers1795810430700,
];
