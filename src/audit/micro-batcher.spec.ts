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
/** 'ok' when every item of the group was stored, else the failed local indexes and messages. */
const settled = (p: Promise<ReadonlyMap<number, unknown>>) =>
  p.then(
    (failures) =>
      failures.size ? [...failures].map(([i, e]) => `${i}: ${(e as Error).message}`).join(', ') : 'ok',
    (e: Error) => `rejected: ${e.message}`,
  );

describe('MicroBatcher', () => {
  it('waits up to flushMs for company when idle, and flushes at once when size are waiting', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 3, 5);
    void b.add([1]);
    void b.add([2]);
    expect(f.batches).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(f.batches).toEqual([[1, 2]]);
    f.settle[0]();
    await tick();
    void b.add([3]);
    void b.add([4, 5]);
    expect(f.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('runs one flush at a time: what arrives meanwhile goes in the next, in order, at most size per flush', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 3, 0);
    const first = [1, 2, 3].map((i) => b.add([i]));
    const later = [4, 5, 6, 7].map((i) => b.add([i]));
    await tick();
    expect(f.batches).toEqual([[1, 2, 3]]); // 4..7 wait for the commit in flight
    f.settle[0]();
    expect(await Promise.all(first.map(settled))).toEqual(['ok', 'ok', 'ok']);
    await tick();
    expect(f.batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    f.settle[1]();
    await tick();
    expect(f.batches[2]).toEqual([7]);
    f.settle[2]();
    expect(await Promise.all(later.map(settled))).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('never splits a group: a batch takes whole groups until it holds size items or more', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 4, 0);
    const first = b.add([1, 2, 3]);
    const second = b.add([4, 5, 6]); // past size once added: still one group, whole
    const third = b.add([7]);
    await tick();
    expect(f.batches).toEqual([[1, 2, 3, 4, 5, 6]]);
    f.settle[0]();
    await tick();
    expect(f.batches[1]).toEqual([7]);
    f.settle[1]();
    expect(await Promise.all([first, second, third].map(settled))).toEqual(['ok', 'ok', 'ok']);
  });

  it('hands each group its own failures by local index; a failed flush rejects every group in it', async () => {
    const f = manualFlush();
    const b = new MicroBatcher(f.flush, 4, 0);
    const a = [b.add([1, 2]), b.add([3, 4])];
    f.fail[0](new Error('connection lost'));
    expect(await Promise.all(a.map(settled))).toEqual([
      'rejected: connection lost',
      'rejected: connection lost',
    ]);
    await tick();
    const c = [b.add([5, 6]), b.add([7, 8])];
    f.settle[1](new Map([[3, new Error('refused')]])); // 8, the second item of the second group
    expect(await Promise.all(c.map(settled))).toEqual(['ok', '1: refused']);
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
    expect(await settled(b.add([1]))).toBe('rejected: bad batch');
    expect(await settled(b.add([2]))).toBe('ok');
    expect(await settled(b.add([]))).toBe('ok');
    expect(calls).toBe(2);
  });
});
