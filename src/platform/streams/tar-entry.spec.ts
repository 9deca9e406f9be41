import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { addTarEntry } from './tar-entry';

describe('addTarEntry', () => {
  it('writes directories, buffers and streams as one archive', async () => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    const sink = new PassThrough().on('data', (d: Buffer) => chunks.push(d));
    const done = pipeline(pack, sink);
    await addTarEntry(pack, { name: 'd/', type: 'directory' });
    await addTarEntry(pack, { name: 'd/a' }, Buffer.from('one'));
    await addTarEntry(pack, { name: 'd/b', size: 3 }, Readable.from([Buffer.from('two')]));
    pack.finalize();
    await done;
    const names: string[] = [];
    const ex = tar.extract();
    ex.on('entry', (h, s, next) => {
      names.push(h.name);
      s.resume();
      s.on('end', next);
    });
    await pipeline(Readable.from([Buffer.concat(chunks)]), ex);
    expect(names).toEqual(['d/', 'd/a', 'd/b']);
  });

  // The docker save whose client left: pipeline destroys the pack with the reader's error
  // while entries are open or waiting. Unheard, each entry's 'error' was an uncaught exception
  // (jest fails this test on one); here each entry's promise rejects with it instead.
  it('a pack destroyed under open and waiting entries rejects them, and throws nothing', async () => {
    const pack = tar.pack();
    const reader = new PassThrough();
    const done = pipeline(pack, reader);
    const blob = new PassThrough(); // a blob file still being read
    const open = addTarEntry(pack, { name: 'blob', size: 10 }, blob);
    const waiting = addTarEntry(pack, { name: 'index.json' }, Buffer.from('{}'));
    blob.write(Buffer.from('abc'));
    await new Promise((r) => setImmediate(r));
    reader.destroy(); // the client left
    await expect(done).rejects.toThrow('Premature close');
    await expect(open).rejects.toThrow('Premature close');
    await expect(waiting).rejects.toThrow('Premature close');
    expect(blob.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 20)); // any late 'error' would surface here
  });

  it('a body it could not add is destroyed, so its file is closed', async () => {
    const pack = tar.pack();
    pack.destroy();
    const body = new PassThrough();
    await expect(addTarEntry(pack, { name: 'blob', size: 1 }, body)).rejects.toThrow(/destroyed/);
    expect(body.destroyed).toBe(true);
  });
});
