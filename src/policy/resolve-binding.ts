import { evaluateForNoPolicy } from './evaluate';
import type { Decision, EvaluatedPolicy, Principal } from './evaluate';
import type { BindingKind, MatchedBinding } from './policy.repository';

export type Resolution =
  | { ok: true; policy: EvaluatedPolicy; via: { kind: BindingKind; value: string } }
  | { ok: false; decision: Decision };

// Most specific first. Kubernetes subjects only ever match a reviewed object's principal
// (admission), Warden's own principals and teams only Warden's callers; both end at everyone.
const LEVELS: readonly BindingKind[] = [
  'principal',
  'k8s-user',
  'k8s-serviceaccount',
  'k8s-namespace',
  'k8s-group',
  'team',
  'everyone',
];

function describe(b: { kind: BindingKind; value: string }): string {
  return b.kind === 'everyone' ? 'everyone' : `${b.kind} ${b.value}`;
}

/**
 * Which policy governs a principal: the most specific level with a binding wins (principal,
 * then team, then everyone). Two different policies at that level — a principal in two
 * teams bound to different policies — is a configuration error, and picking one would be a
 * guess, so it fails closed and says how to fix it.
 */
export function resolveBinding(principal: Principal, matches: readonly MatchedBinding[]): Resolution {
  for (const level of LEVELS) {
    // Sorted so the message and detail are the same whatever order the rows came in.
    const here = matches.filter((m) => m.kind === level).sort((a, b) => a.value.localeCompare(b.value));
    if (here.length === 0) continue;
    const policies = [...new Set(here.map((m) => m.policy))].sort();
    if (policies.length > 1) {
      const decision = evaluateForNoPolicy({ principal });
      decision.reasons = [
        {
          rule: 'policy.binding',
          message:
            `principal ${principal.id} matches ${policies.length} policies at ${level} level ` +
            `(${here.map((m) => `${describe(m)} → ${m.policy}`).join(', ')}); launches are denied until an ` +
            `admin binds the principal directly or removes all but one of these bindings`,
          detail: {
            principalId: principal.id,
            level,
            bindings: here.map((m) => ({ kind: m.kind, value: m.value, policy: m.policy })),
          },
        },
      ];
      return { ok: false, decision };
    }
    const chosen = here[0];
    if (chosen.activeVersion === null || chosen.document === null) {
      const decision = evaluateForNoPolicy({
        principal,
        loadError: `policy ${chosen.policy}, bound via ${describe(chosen)}, has no active version; activate one with POST /policies/${chosen.policy}/activate`,
      });
      return { ok: false, decision };
    }
    return {
      ok: true,
      policy: { name: chosen.policy, versionId: chosen.activeVersion, doc: chosen.document },
      via: { kind: chosen.kind, value: chosen.value },
    };
  }
  return { ok: false, decision: evaluateForNoPolicy({ principal }) };
}
