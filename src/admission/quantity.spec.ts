import { formatBytesQuantity, formatCpuQuantity, parseQuantity } from './quantity';

describe('Kubernetes quantities', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['129M', 129e6],
    ['129e6', 129e6],
    ['100Ki', 102400],
    [250, 250],
  ])('%s is %d', (q, v) => expect(parseQuantity(q)).toBeCloseTo(v as number, 9));

  it.each(['lots', '12Q', '', 'Mi', '1..2', '5 Mi'])('%s is not a quantity', (q) =>
    expect(parseQuantity(q)).toBeUndefined(),
  );

  it('writes bytes and CPUs back as Kubernetes does', () => {
    expect(formatBytesQuantity(512 * 2 ** 20)).toBe('512Mi');
    expect(formatBytesQuantity(10 * 2 ** 30)).toBe('10Gi');
    expect(formatBytesQuantity(1000)).toBe('1000');
    expect(formatCpuQuantity(1e9)).toBe('1');
    expect(formatCpuQuantity(5e8)).toBe('500m');
  });
});
