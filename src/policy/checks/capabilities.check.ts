import { normalizeCapability } from '../spec/units';
import { Check, CheckResult, describeAllowed, violation } from './check-result';

const compiled = new WeakMap<readonly string[], ReadonlySet<string>>();

function allowSet(list: readonly string[]): ReadonlySet<string> {
  let set = compiled.get(list);
  if (!set) compiled.set(list, (set = new Set(list.map(normalizeCapability))));
  return set;
}

/**
 * Added capabilities only from the allowlist. `NET_ADMIN`, `net_admin` and `CAP_NET_ADMIN` are
 * one capability; `ALL` is admitted only when the policy lists `ALL` itself.
 */
export const capabilitiesCheck: Check = (spec, rules, ctx) => {
  const list = rules.capabilities?.allowAdd;
  if (!list || spec.capAdd.length === 0) return [];
  const allowed = allowSet(list);
  const out: CheckResult[] = [];
  for (const raw of spec.capAdd) {
    const cap = normalizeCapability(raw);
    if (allowed.has(cap)) continue;
    const what = cap === 'ALL' ? 'ALL (every capability)' : cap;
    out.push(
      violation(
        ctx,
        'capabilities.allowAdd',
        `capability ${what} may not be added (allowed: ${describeAllowed(list)})`,
        {
          capability: cap,
          allowed: [...list],
        },
      ),
    );
  }
  return out;
};
