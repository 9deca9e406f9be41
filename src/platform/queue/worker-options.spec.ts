import type { MinimalJob } from 'bullmq';
import { cappedExponentialBackoff, MAX_BACKOFF_MS } from './worker-options';

const job = { opts: { backoff: { type: 'capped-exponential', delay: 200 } } } as unknown as MinimalJob;

describe('cappedExponentialBackoff', () => {
  it('doubles from the job delay', async () => {
    const delays = [];
    for (const n of [1, 2, 3, 4])
      delays.push(await cappedExponentialBackoff(n, 'capped-exponential', undefined, job));
    expect(delays).toEqual([200, 400, 800, 1600]);
  });

  it('never waits longer than the cap, however many attempts failed', async () => {
    expect(await cappedExponentialBackoff(7, 'capped-exponential', undefined, job)).toBe(MAX_BACKOFF_MS);
    expect(await cappedExponentialBackoff(9_999, 'capped-exponential', undefined, job)).toBe(MAX_BACKOFF_MS);
  });
});
