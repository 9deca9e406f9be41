import { FrameReader, muxFrames } from './frames';

describe('multiplexed stdio frames', () => {
  it('writes the 8-byte header: stream id, three zero bytes, big-endian length', () => {
    const f = muxFrames('stderr', 'hi\n');
    expect([...f.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 3]);
    expect(f.subarray(8).toString()).toBe('hi\n');
    expect(muxFrames('stdout', Buffer.alloc(300))[7]).toBe(300 & 0xff);
    expect(muxFrames('stdout', Buffer.alloc(300))[6]).toBe(1);
  });

  it('sends nothing for an empty payload and splits a large one', () => {
    expect(muxFrames('stdout', '')).toHaveLength(0);
    const big = Buffer.alloc((1 << 20) + 5, 7);
    const frames = new FrameReader().push(muxFrames('stdout', big));
    expect(frames.map((f) => f.payload.length)).toEqual([1 << 20, 5]);
  });

  it('reads back frames split at any byte boundary', () => {
    const bytes = Buffer.concat([
      muxFrames('stdout', 'one\n'),
      muxFrames('stderr', 'two\n'),
      muxFrames('stdout', 'ü'),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new FrameReader();
      const frames = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(frames.map((f) => `${f.stream}:${f.payload.toString()}`)).toEqual([
        'stdout:one\n',
        'stderr:two\n',
        'stdout:ü',
      ]);
      expect(r.buffered).toBe(0);
    }
  });
});
