import { canonicalJson, sha256Hex } from '../platform/canonical';
import type { PolicyRecord, PolicyVersionRecord } from './policy.repository';

/** Who writes the built-in baseline's versions: Warden itself, never a principal. */
export const BUILT_IN_AUTHOR = 'system';

/**
 * What to do with an existing install's `baseline` at boot (issue 14, point 8). `baseline` is
 * written on first boot only; a release that tightens it would otherwise never reach installs
 * made before it. The rule: an unmodified baseline follows the release, a modified one is the
 * admin's and is left alone.
 *
 * - `current`: the active version is this release's built-in document.
 * - `upgrade`: the active version is an earlier built-in one: written by Warden itself (its
 *   author is `system`, which no principal can be) and its stored document still hashes to its
 *   id, i.e. nobody changed it since. It becomes a new version of the same policy.
 * - `modified`: an admin made the active version (or the stored document no longer matches its
 *   hash): left alone, and the log says what this release's baseline would be.
 * - `absent` / `inactive`: an admin removed it or deactivated it: left alone.
 */
export type BaselineAction =
  | { action: 'current' }
  | { action: 'upgrade'; from: string; to: string }
  | { action: 'modified'; active: string; by: string }
  | { action: 'absent' }
  | { action: 'inactive' };

export function baselineAction(
  policy: PolicyRecord | undefined,
  active: PolicyVersionRecord | undefined,
  builtInId: string,
): BaselineAction {
  if (!policy) return { action: 'absent' };
  if (!policy.activeVersion || !active) return { action: 'inactive' };
  if (active.id === builtInId) return { action: 'current' };
  const intact = sha256Hex(canonicalJson(active.document)) === active.id;
  if (active.createdBy === BUILT_IN_AUTHOR && intact)
    return { action: 'upgrade', from: active.id, to: builtInId };
  return { action: 'modified', active: active.id, by: active.createdBy };
}
