import { Check, CheckResult, violation } from './check-result';

/** Labels such as owner and cost-centre feed showback; an empty value names nobody, so it counts as missing. */
export const requiredLabelsCheck: Check = (spec, rules, ctx) => {
  const required = rules.labels?.required;
  if (!required) return [];
  const out: CheckResult[] = [];
  for (const label of required) {
    const value = Object.prototype.hasOwnProperty.call(spec.labels, label) ? spec.labels[label] : undefined;
    if (value === undefined || value.trim() === '')
      out.push(
        violation(
          ctx,
          'labels.required',
          value === undefined ? `label ${label} is required` : `label ${label} is empty; give it a value`,
          { label, present: value !== undefined },
        ),
      );
  }
  return out;
};
