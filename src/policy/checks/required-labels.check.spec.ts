import { ctx, minimalSpec } from '../testing/fixtures';
import { requiredLabelsCheck } from './required-labels.check';

describe('requiredLabelsCheck', () => {
  const rules = { labels: { required: ['cost-centre', 'owner'] } };

  it('passes when every required label has a value', () => {
    const spec = minimalSpec({ labels: { owner: 'team-a', 'cost-centre': 'cc-42', extra: 'x' } });
    expect(requiredLabelsCheck(spec, rules, ctx)).toEqual([]);
  });

  it('refuses each missing label', () => {
    const out = requiredLabelsCheck(minimalSpec(), rules, ctx);
    expect(out.map((r) => r.message)).toEqual([
      'label cost-centre is required (policy prod, rule labels.required)',
      'label owner is required (policy prod, rule labels.required)',
    ]);
  });

  it('refuses an empty value', () => {
    const spec = minimalSpec({ labels: { owner: ' ', 'cost-centre': 'cc-42' } });
    expect(requiredLabelsCheck(spec, rules, ctx)).toEqual([
      {
        rule: 'labels.required',
        message: 'label owner is empty; give it a value (policy prod, rule labels.required)',
        detail: { label: 'owner', present: true },
      },
    ]);
  });

  it('is not fooled by inherited object properties', () => {
    const spec = minimalSpec({ labels: {} });
    expect(requiredLabelsCheck(spec, { labels: { required: ['constructor'] } }, ctx)).toHaveLength(1);
  });
});
