import { cpuQuotaUs, pidsMax, resolveMemory, sharesToWeight } from './limits';

describe('limit arithmetic', () => {
  it('maps shares to weight like runc and crun', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(100);
  });

  it('turns NanoCpus into a quota over a 100 ms period, never under the kernel minimum', () => {
    expect(cpuQuotaUs(500_000_000)).toBe(50_000);
    expect(cpuQuotaUs(1_500_000_000)).toBe(150_000);
    expect(cpuQuotaUs(1_000_000)).toBe(1000);
    expect(cpuQuotaUs(0)).toBe(-1);
  });

  it('defaults memory+swap to memory, keeps -1 as unlimited and refuses swap below memory', () => {
    expect(resolveMemory({ memoryBytes: 100 })).toEqual({ memory: 100, memsw: 100 });
    expect(resolveMemory({ memoryBytes: 100, memorySwapBytes: -1 })).toEqual({ memory: 100, memsw: -1 });
    expect(resolveMemory({})).toEqual({ memsw: undefined });
    expect(() => resolveMemory({ memoryBytes: 100, memorySwapBytes: 50 })).toThrow(/below memoryBytes/);
    expect(() => resolveMemory({ memorySwapBytes: 50 })).toThrow(/needs a memory limit/);
    expect(() => resolveMemory({ memoryBytes: 1.5 })).toThrow(/memoryBytes 1.5/);
  });

  it('treats 0 and -1 pids limits as unlimited', () => {
    expect(pidsMax(0)).toBe('max');
    expect(pidsMax(-1)).toBe('max');
    expect(pidsMax(50)).toBe('50');
    expect(() => pidsMax(-2)).toThrow(/pidsLimit -2/);
  });
});
