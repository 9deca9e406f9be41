import { Check, CheckResult, violation } from './check-result';

const show = (n: number): string => (n === -1 ? 'unlimited' : String(n));

/**
 * Ulimits no higher than the policy's max per name. A hard limit decides how far the
 * container may raise its soft one, so the hard limit is judged; unlimited exceeds any max.
 */
export const ulimitsCheck: Check = (spec, rules, ctx) => {
  const max = rules.ulimits?.max;
  if (!max || !spec.ulimits?.length) return [];
  const out: CheckResult[] = [];
  for (const u of spec.ulimits) {
    const cap = max[u.name];
    if (cap === undefined || (u.hard !== -1 && u.hard <= cap)) continue;
    out.push(
      violation(
        ctx,
        `ulimits.max.${u.name}`,
        `ulimit ${u.name} hard limit ${show(u.hard)} exceeds the policy max ${cap}`,
        { ulimit: u.name, hard: u.hard, max: cap },
      ),
    );
  }
  return out;
};
