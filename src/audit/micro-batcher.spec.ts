import { MicroBatcher } from './micro-batcher';

/** A flush the test settles by hand, recording each batch it was given. */
function manualFlush() {
  const batches: number[][] = [];
  const settle: Array<(failures?: Map<number, unknown>) => void> = [];
  const fail: Array<(err: unknown) => void> = [];
  const flush = (items: number[]) => {
    batches.push(items);
    return new Promise<Map<number, unknown> | void>((resolve, reject) => {
      settle.push(resolve);
      fail.push(reject);
    });
  };
  return { batches, settle, fail, flush };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: Error) => `rejected: ${e.message}`,
  );

describe('MicroBatcher', () => {
  it('waits up to flushMs for company when idle, and flushes at once when size are waiting', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 3, 5);
    void b.add(1);
    void b.add(2);
    expect(f.batches).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(f.batches).toEqual([[1, 2]]);
    f.settle[0]();
    await tick();
    [3, 4, 5].forEach((i) => void b.add(i));
    expect(f.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('runs one flush at a time: what arrives meanwhile goes in the next, in order, at most size per flush', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 3, 0);
    const first = [1, 2, 3].map((i) => b.add(i));
    const later = [4, 5, 6, 7].map((i) => b.add(i));
    await tick();
    expect(f.batches).toEqual([[1, 2, 3]]); // 4..7 wait for the commit in flight
    f.settle[0]();
    expect(await Promise.all(first.map(settled))).toEqual(['resolved', 'resolved', 'resolved']);
    await tick();
    expect(f.batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    f.settle[1]();
    await tick();
    expect(f.batches[2]).toEqual([7]);
    f.settle[2]();
    expect(await Promise.all(later.map(settled))).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
  });

  it('settles each item with its batch: a failed flush rejects all of them, failures by index only those', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 2, 0);
    const a = [b.add(1), b.add(2)];
    f.fail[0](new Error('connection lost'));
    expect(await Promise.all(a.map(settled))).toEqual([
      'rejected: connection lost',
      'rejected: connection lost',
    ]);
    await tick();
    const c = [b.add(3), b.add(4)];
    f.settle[1](new Map([[1, new Error('refused')]]));
    expect(await Promise.all(c.map(settled))).toEqual(['resolved', 'rejected: refused']);
  });

  it('keeps going after a flush that throws before its first await', async () => {
    let calls = 0;
    const b = new MicroBatcher<number>(
      (items) => {
        calls += 1;
        if (items.includes(1)) throw new Error('bad batch');
        return Promise.resolve();
      },
      1,
      0,
    );
    expect(await settled(b.add(1))).toBe('rejected: bad batch');
    expect(await settled(b.add(2))).toBe('resolved');
    expect(calls).toBe(2);
  });
});
