import { Check, violation } from './check-result';

/**
 * `--memory-swap -1` lets a container swap without limit: its memory cap then bounds only
 * what stays resident, and the host's swap (shared by every container) absorbs the rest.
 */
export const memorySwapCheck: Check = (spec, rules, ctx) => {
  if (spec.memorySwapBytes !== -1 || rules.memorySwap === undefined || rules.memorySwap.allowUnlimited)
    return [];
  return [
    violation(
      ctx,
      'memorySwap.allowUnlimited',
      'unlimited swap (memory-swap -1) is not allowed: give a memory-swap at or above memory, or leave it out',
      { memorySwapBytes: -1 },
    ),
  ];
};
