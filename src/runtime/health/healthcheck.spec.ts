import type { HealthResult } from '../container/container';
import {
  applyResult,
  goDuration,
  initialHealth,
  mergeHealthcheck,
  nextProbeIn,
  probeArgv,
  timingOf,
} from './healthcheck';
import { parseDuration } from './healthcheck-input';

const at = (ms: number, code: number, out = ''): HealthResult => ({
  Start: new Date(ms).toISOString(),
  End: new Date(ms + 5).toISOString(),
  ExitCode: code,
  Output: out,
});

describe('health check state (moby daemon/health.go)', () => {
  const t = timingOf({ test: ['CMD', 'true'], retries: 2, startPeriod: 3e9, interval: 1e9 });

  it('Docker defaults for zero fields', () => {
    expect(timingOf({ test: ['CMD', 'x'] })).toEqual({
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
  });

  it('healthy on 0; unhealthy after `retries` failures in a row; failures in the start period do not count', () => {
    let h = initialHealth();
    h = applyResult(h, at(1000, 1), t, 0); // within the 3 s start period
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    h = applyResult(h, at(4000, 1), t, 0);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 1 });
    h = applyResult(h, at(5000, 1), t, 0);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
    h = applyResult(h, at(6000, 0), t, 0);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    h = applyResult(h, at(7000, 2), t, 0); // any non-zero code is a failure
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    for (let i = 0; i < 6; i++) h = applyResult(h, at(8000 + i, 0, `run ${i}`), t, 0);
    expect(h.Log).toHaveLength(5);
    expect(h.Log.at(-1)!.Output).toBe('run 5');
  });

  it('probes at the start interval while starting within the start period, else at the interval', () => {
    const s = timingOf({ test: ['CMD', 'x'], interval: 10e9, startInterval: 1e9, startPeriod: 5e9 });
    expect(nextProbeIn(initialHealth(), s, 0, 1000)).toBe(1000);
    expect(nextProbeIn(initialHealth(), s, 0, 6000)).toBe(10_000);
    expect(nextProbeIn({ ...initialHealth(), Status: 'healthy' }, s, 0, 1000)).toBe(10_000);
  });

  it('merges the request over the image field by field; NONE or no test means none', () => {
    const image = { test: ['CMD-SHELL', 'check'], interval: 5e9, retries: 4 };
    expect(mergeHealthcheck({ test: [], interval: 1e9 }, image)).toEqual({
      test: ['CMD-SHELL', 'check'],
      interval: 1e9,
      retries: 4,
    });
    expect(mergeHealthcheck({ test: ['NONE'] }, image)).toBeUndefined();
    expect(mergeHealthcheck(undefined, image)).toEqual(image);
    expect(mergeHealthcheck(undefined, undefined)).toBeUndefined();
    expect(probeArgv(['CMD-SHELL', 'a', 'b'])).toEqual(['/bin/sh', '-c', 'a b']);
    expect(probeArgv(['CMD', 'true'])).toEqual(['true']);
  });

  it('durations as Go writes and reads them', () => {
    expect(goDuration(1000)).toBe('1s');
    expect(goDuration(500)).toBe('500ms');
    expect(goDuration(90_000)).toBe('1m30s');
    expect(parseDuration('1m30s')).toBe(90e9);
    expect(parseDuration('500ms')).toBe(5e8);
    expect(parseDuration('5')).toBeUndefined();
  });
});
