import { posix } from 'node:path';
import type { PolicyRules } from '../document/policy-document';
import type { ContainerSpec } from '../spec/container-spec';
import type { VolumeSpec } from '../spec/volume-spec';
import type { ImageContentSpec } from '../spec/image-content';
import type { ExecSpec } from '../spec/exec-spec';

/** One violated rule: what the decision lists and the audit trail keeps. */
export interface Reason {
  /** Dotted path into the policy document, e.g. `resources.memory.max`. */
  rule: string;
  message: string;
  detail: Record<string, unknown>;
}

/** A check reports one result per violation; an empty list means the spec passes it. */
export type CheckResult = Reason;

export interface CheckContext {
  policyName: string;
  /**
   * Resolves symlinks on the host (e.g. fs.realpathSync). Checks stay pure by having the
   * caller inject it; without it, host paths are judged as written (normalized only).
   */
  realpath?: (path: string) => string;
}

export type Check = (spec: ContainerSpec, rules: PolicyRules, ctx: CheckContext) => CheckResult[];

/** The same contract for a volume being created (issue 17). */
export type VolumeCheck = (vol: VolumeSpec, rules: PolicyRules, ctx: CheckContext) => CheckResult[];

/** The same contract for what an image's layers turned out to hold when unpacked (issue 17). */
export type ImageContentCheck = (
  image: ImageContentSpec,
  rules: PolicyRules,
  ctx: CheckContext,
) => CheckResult[];
/** The same contract for an exec into a running container (issue 15). */
export type ExecCheck = (exec: ExecSpec, rules: PolicyRules, ctx: CheckContext) => CheckResult[];

/** Every message ends the same way so users can find the rule to change or get waived. */
export function violation(
  ctx: CheckContext,
  rule: string,
  message: string,
  detail: Record<string, unknown>,
): CheckResult {
  return { rule, message: `${message} (policy ${ctx.policyName}, rule ${rule})`, detail };
}

export function normalizeAbsolute(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Prefix match on whole segments: `/data` covers `/data` and `/data/x`, never `/database`. */
export function isUnderPath(path: string, prefix: string): boolean {
  if (prefix === '/') return path.startsWith('/');
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47); /* '/' */
}

export type HostPathVerdict =
  { allowed: true } | { allowed: false; normalized: string; resolved?: string; unresolvable?: string };

/**
 * Host path judged against an allowlist. `..` is folded away by normalizing before matching;
 * symlinks are followed with ctx.realpath when given, and an unresolvable path is refused
 * (fail closed), since we could not tell where it leads.
 */
export function judgeHostPath(raw: string, allowed: readonly string[], ctx: CheckContext): HostPathVerdict {
  if (!raw.startsWith('/') || raw.includes('\0')) return { allowed: false, normalized: raw };
  const normalized = normalizeAbsolute(raw);
  let resolved = normalized;
  const prefixes = allowed.map(normalizeAbsolute);
  if (ctx.realpath) {
    try {
      resolved = normalizeAbsolute(ctx.realpath(normalized));
    } catch (err) {
      return { allowed: false, normalized, unresolvable: err instanceof Error ? err.message : String(err) };
    }
    // An allowed prefix that is itself a link admits what it points at.
    for (const p of allowed) {
      try {
        prefixes.push(normalizeAbsolute(ctx.realpath(normalizeAbsolute(p))));
      } catch {
        // A prefix that does not exist yet admits nothing beyond its literal spelling.
      }
    }
  }
  if (prefixes.some((p) => isUnderPath(resolved, p))) return { allowed: true };
  return resolved === normalized ? { allowed: false, normalized } : { allowed: false, normalized, resolved };
}

export function describeAllowed(items: readonly string[], empty = 'none'): string {
  return items.length ? items.join(', ') : empty;
}
