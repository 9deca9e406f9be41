import { WardenError } from '../../platform/errors';
import { DetachKeyFilter, parseDetachKeys } from './detach-keys';

/** Feeds the chunks through a filter; what came out, and whether it detached (and when). */
async function filter(keys: string | undefined, chunks: string[]) {
  let detachedAfter = -1;
  const f = new DetachKeyFilter(parseDetachKeys(keys), () => (detachedAfter = out.length));
  const out: Buffer[] = [];
  f.on('data', (d: Buffer) => out.push(d));
  for (const c of chunks) f.write(Buffer.from(c, 'latin1'));
  f.end();
  await new Promise((r) => f.once('end', r));
  return { text: Buffer.concat(out).toString('latin1'), detached: detachedAfter >= 0 };
}

describe('detach keys', () => {
  it("parses Docker's spellings: ctrl-<letter>, ctrl-@ [ \\ ] ^ _, single characters", () => {
    expect([...parseDetachKeys(undefined)]).toEqual([16, 17]); // ctrl-p,ctrl-q
    expect([...parseDetachKeys('ctrl-a,X')]).toEqual([1, 88]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([
      0, 27, 28, 29, 30, 31,
    ]);
    for (const bad of ['ctrl-1', 'ctrl-', 'ab', 'ctrl-p,,ctrl-q'])
      expect(() => parseDetachKeys(bad)).toThrow(WardenError);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/Invalid detach keys \(ctrl-1\)/);
  });

  it('swallows the sequence, passes what came before, stops after it', async () => {
    expect(await filter(undefined, ['ls\r', '\x10\x11', 'more'])).toEqual({ text: 'ls\r', detached: true });
  });

  it('a sequence split across reads still detaches', async () => {
    expect(await filter(undefined, ['a\x10', '\x11b'])).toEqual({ text: 'a', detached: true });
  });

  it('a prefix that does not finish the sequence is passed on whole, in order', async () => {
    expect(await filter(undefined, ['\x10x', '\x10\x10\x11'])).toEqual({ text: '\x10x\x10', detached: true });
    expect(await filter(undefined, ['a\x10'])).toEqual({ text: 'a\x10', detached: false });
  });
});
