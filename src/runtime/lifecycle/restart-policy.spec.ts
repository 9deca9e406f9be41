import { decideRestart, MAX_DELAY_MS, nextDelay, startsWithWarden, type ExitFacts } from './restart-policy';

const exit = (f: Partial<ExitFacts> = {}): ExitFacts => ({
  exitCode: 1,
  ranMs: 50,
  restartCount: 0,
  stoppedOnPurpose: false,
  previousDelayMs: 0,
  ...f,
});

describe('restart decision (Docker restart manager)', () => {
  it('backs off from 100 ms, doubling to a minute, and starts over after a run of 10 s', () => {
    const delays: number[] = [];
    let prev = 0;
    for (let i = 0; i < 12; i++) delays.push((prev = nextDelay(prev, 50)));
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(delays.at(-1)).toBe(MAX_DELAY_MS);
    expect(nextDelay(MAX_DELAY_MS, 9_999)).toBe(MAX_DELAY_MS);
    expect(nextDelay(MAX_DELAY_MS, 10_000)).toBe(100);
  });

  it('on-failure: non-zero exits up to the count; 0 is no limit; exit 0 stays down', () => {
    const p = { name: 'on-failure' as const, maximumRetryCount: 2 };
    expect(decideRestart(p, exit({ restartCount: 0 })).restart).toBe(true);
    expect(decideRestart(p, exit({ restartCount: 1 })).restart).toBe(true);
    const done = decideRestart(p, exit({ restartCount: 2 }));
    expect(done).toMatchObject({
      restart: false,
      reason: 'restart policy on-failure:2: 2 restarts, no more',
    });
    expect(decideRestart(p, exit({ exitCode: 0 })).restart).toBe(false);
    expect(
      decideRestart({ name: 'on-failure', maximumRetryCount: 0 }, exit({ restartCount: 999 })).restart,
    ).toBe(true);
  });

  it('always and unless-stopped restart any exit, but not one a client asked for; no never', () => {
    for (const name of ['always', 'unless-stopped'] as const) {
      expect(decideRestart({ name, maximumRetryCount: 0 }, exit({ exitCode: 0 })).restart).toBe(true);
      expect(decideRestart({ name, maximumRetryCount: 0 }, exit({ stoppedOnPurpose: true })).restart).toBe(
        false,
      );
    }
    expect(decideRestart(undefined, exit()).restart).toBe(false);
    expect(decideRestart({ name: 'no', maximumRetryCount: 0 }, exit()).restart).toBe(false);
  });

  it('when Warden starts: always even after a manual stop, unless-stopped not, on-failure with retries left', () => {
    const stopped = { exitCode: 143, restartCount: 0, manuallyStopped: true };
    const crashed = { exitCode: 1, restartCount: 1, manuallyStopped: false };
    expect(startsWithWarden({ name: 'always', maximumRetryCount: 0 }, stopped)).toBe(true);
    expect(startsWithWarden({ name: 'unless-stopped', maximumRetryCount: 0 }, stopped)).toBe(false);
    expect(startsWithWarden({ name: 'unless-stopped', maximumRetryCount: 0 }, crashed)).toBe(true);
    expect(startsWithWarden({ name: 'on-failure', maximumRetryCount: 2 }, crashed)).toBe(true);
    expect(startsWithWarden({ name: 'on-failure', maximumRetryCount: 1 }, crashed)).toBe(false);
    expect(startsWithWarden({ name: 'on-failure', maximumRetryCount: 0 }, { ...crashed, exitCode: 0 })).toBe(
      false,
    );
    expect(startsWithWarden(undefined, crashed)).toBe(false);
  });
});
