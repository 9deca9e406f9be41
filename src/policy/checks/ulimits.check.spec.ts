import { ctx, minimalSpec } from '../testing/fixtures';
import { ulimitsCheck } from './ulimits.check';

describe('ulimitsCheck', () => {
  const rules = { ulimits: { max: { nofile: 65536, nproc: 4096 } } };

  it('passes limits at or under the max, and names the policy does not cap', () => {
    const spec = minimalSpec({
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 65536 },
        { name: 'core', soft: -1, hard: -1 },
      ],
    });
    expect(ulimitsCheck(spec, rules, ctx)).toEqual([]);
  });

  it('refuses a hard limit above the max, and unlimited, one reason each', () => {
    const spec = minimalSpec({
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 65537 },
        { name: 'nproc', soft: -1, hard: -1 },
      ],
    });
    expect(ulimitsCheck(spec, rules, ctx)).toEqual([
      {
        rule: 'ulimits.max.nofile',
        message:
          'ulimit nofile hard limit 65537 exceeds the policy max 65536 (policy prod, rule ulimits.max.nofile)',
        detail: { ulimit: 'nofile', hard: 65537, max: 65536 },
      },
      {
        rule: 'ulimits.max.nproc',
        message:
          'ulimit nproc hard limit unlimited exceeds the policy max 4096 (policy prod, rule ulimits.max.nproc)',
        detail: { ulimit: 'nproc', hard: -1, max: 4096 },
      },
    ]);
  });

  it('passes anything without a ulimits rule', () => {
    expect(ulimitsCheck(minimalSpec({ ulimits: [{ name: 'nofile', soft: -1, hard: -1 }] }), {}, ctx)).toEqual(
      [],
    );
  });
});
