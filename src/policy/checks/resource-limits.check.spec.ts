import { GiB, MiB, ctx, minimalSpec } from '../testing/fixtures';
import { resourceLimitsCheck } from './resource-limits.check';

describe('resourceLimitsCheck', () => {
  const rules = {
    resources: {
      memory: { required: true, max: 2 * GiB },
      cpu: { required: true, max: 2 },
      pids: { required: true, max: 1024 },
    },
  };
  const capped = { memoryBytes: 512 * MiB, nanoCpus: 5e8, pidsLimit: 100 };

  it('passes caps within the limits', () => {
    expect(resourceLimitsCheck(minimalSpec(capped), rules, ctx)).toEqual([]);
  });

  it('passes a value exactly at the cap', () => {
    expect(resourceLimitsCheck(minimalSpec({ ...capped, memoryBytes: 2 * GiB }), rules, ctx)).toEqual([]);
  });

  it('passes anything when the policy has no resources rules', () => {
    expect(resourceLimitsCheck(minimalSpec(), {}, ctx)).toEqual([]);
  });

  it('refuses memory above the cap, naming value, cap, policy and rule as Docker users write them', () => {
    const [r, ...rest] = resourceLimitsCheck(minimalSpec({ ...capped, memoryBytes: 9 * GiB }), rules, ctx);
    expect(rest).toEqual([]);
    expect(r.rule).toBe('resources.memory.max');
    expect(r.message).toBe('memory 9g exceeds cap 2g (policy prod, rule resources.memory.max)');
    expect(r.detail).toEqual({ field: 'memoryBytes', value: 9 * GiB, max: 2 * GiB });
  });

  it('refuses cpu above the cap', () => {
    const [r] = resourceLimitsCheck(minimalSpec({ ...capped, nanoCpus: 4e9 }), rules, ctx);
    expect(r.rule).toBe('resources.cpu.max');
    expect(r.message).toBe('cpu 4 CPUs exceeds cap 2 CPUs (policy prod, rule resources.cpu.max)');
  });

  it('refuses pids above the cap', () => {
    const [r] = resourceLimitsCheck(minimalSpec({ ...capped, pidsLimit: 5000 }), rules, ctx);
    expect(r.rule).toBe('resources.pids.max');
    expect(r.message).toContain('pids limit 5000 exceeds cap 1024');
  });

  it('reports every missing required cap, not only the first', () => {
    const out = resourceLimitsCheck(minimalSpec(), rules, ctx);
    expect(out.map((r) => r.rule)).toEqual([
      'resources.memory.required',
      'resources.cpu.required',
      'resources.pids.required',
    ]);
    expect(out[0].message).toContain('set memory, e.g. 512m');
  });

  it('treats no limit as exceeding a max even when a cap is not marked required', () => {
    const [r] = resourceLimitsCheck(minimalSpec(), { resources: { memory: { max: 2 * GiB } } }, ctx);
    expect(r.rule).toBe('resources.memory.max');
    expect(r.message).toContain('memory is unlimited but the cap is 2g');
  });
});
