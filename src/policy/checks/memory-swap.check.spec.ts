import { ctx, minimalSpec, MiB } from '../testing/fixtures';
import { memorySwapCheck } from './memory-swap.check';

describe('memorySwapCheck', () => {
  const strict = { memorySwap: { allowUnlimited: false } };

  it('passes a bounded swap or none', () => {
    expect(memorySwapCheck(minimalSpec({ memoryBytes: 64 * MiB }), strict, ctx)).toEqual([]);
    expect(
      memorySwapCheck(minimalSpec({ memoryBytes: 64 * MiB, memorySwapBytes: 128 * MiB }), strict, ctx),
    ).toEqual([]);
  });

  it('refuses unlimited swap, naming the rule', () => {
    expect(memorySwapCheck(minimalSpec({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }), strict, ctx)).toEqual(
      [
        {
          rule: 'memorySwap.allowUnlimited',
          message:
            'unlimited swap (memory-swap -1) is not allowed: give a memory-swap at or above memory, or leave it out ' +
            '(policy prod, rule memorySwap.allowUnlimited)',
          detail: { memorySwapBytes: -1 },
        },
      ],
    );
  });

  it('passes unlimited swap when allowed or when the policy has no rule', () => {
    const spec = minimalSpec({ memoryBytes: 64 * MiB, memorySwapBytes: -1 });
    expect(memorySwapCheck(spec, { memorySwap: { allowUnlimited: true } }, ctx)).toEqual([]);
    expect(memorySwapCheck(spec, {}, ctx)).toEqual([]);
  });
});
