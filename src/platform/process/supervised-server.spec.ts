import { ServerRun, SupervisedServer } from './supervised-server';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A fake server run: `die()` makes it exit as kill -9 would. */
function fakeRuns() {
  const runs: Array<ServerRun & { die(): void; stopped: boolean }> = [];
  let failNext = 0;
  const spawn = async (): Promise<ServerRun> => {
    if (failNext > 0) {
      failNext--;
      throw new Error('address in use');
    }
    let die!: (how: string) => void;
    const exited = new Promise<number | string>((r) => (die = r));
    const run = {
      pid: 1000 + runs.length,
      exited,
      stopped: false,
      die: () => die('SIGKILL'),
      stop: async () => {
        run.stopped = true;
        die('SIGTERM');
      },
    };
    runs.push(run);
    return run;
  };
  return { runs, spawn, failStarts: (n: number) => (failNext = n) };
}

describe('SupervisedServer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('starts a server that died again, on the same spawn, after 200 ms, and reports it down meanwhile', async () => {
    const f = fakeRuns();
    const s = await SupervisedServer.start('redis', f.spawn, quiet);
    expect(s.state()).toMatchObject({ name: 'redis', up: true, pid: 1000, restarts: 0 });
    f.runs[0].die();
    await Promise.resolve();
    await Promise.resolve();
    expect(s.state()).toMatchObject({ up: false, reason: 'redis (pid 1000) exited (SIGKILL)' });
    await jest.advanceTimersByTimeAsync(199);
    expect(f.runs).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.state()).toMatchObject({ up: true, pid: 1001, restarts: 1 });
    await s.stop();
  });

  it('backs off while starts fail or runs die young: 200, 400, 800 ms …', async () => {
    const f = fakeRuns();
    const s = await SupervisedServer.start('postgres', f.spawn, quiet);
    f.failStarts(2);
    f.runs[0].die();
    await jest.advanceTimersByTimeAsync(200); // first try fails
    expect(s.state()).toMatchObject({
      up: false,
      reason: expect.stringMatching(/did not start again: address in use/),
    });
    await jest.advanceTimersByTimeAsync(399); // second try at +400
    expect(f.runs).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1); // fails too
    await jest.advanceTimersByTimeAsync(800); // third try succeeds
    expect(s.state()).toMatchObject({ up: true, pid: 1001, restarts: 1 });
    f.runs[1].die(); // died young: the backoff keeps growing
    await jest.advanceTimersByTimeAsync(1599);
    expect(f.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(f.runs).toHaveLength(3);
    await s.stop();
  });

  it('stop() stops the running server and no restart follows', async () => {
    const f = fakeRuns();
    const s = await SupervisedServer.start('redis', f.spawn, quiet);
    await s.stop();
    expect(f.runs[0].stopped).toBe(true);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(f.runs).toHaveLength(1);
  });
});
