import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { WardenError } from '../../platform/errors';
import { FsBlobStore } from './fs-blob-store';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const collect = async (r: Readable) => Buffer.concat(await r.toArray());

async function failure(p: Promise<unknown>): Promise<WardenError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WardenError) return err;
    throw err;
  }
  throw new Error('expected a WardenError');
}

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;
  const dirFiles = () => readdirSync(join(root, 'blobs', 'sha256')).sort();
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'warden-store-'));
    store = new FsBlobStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stores a stream under its sha256, readable whole or by range', async () => {
    const data = Buffer.from('hello, content-addressed world\n'.repeat(1000));
    const chunks = Readable.from([data.subarray(0, 7000), data.subarray(7000)]);
    expect(await store.put(chunks)).toEqual({ digest: sha(data), size: data.length });
    expect(readFileSync(store.path(sha(data))).equals(data)).toBe(true); // toEqual walks buffers byte by byte
    expect(await store.stat(sha(data))).toEqual({ digest: sha(data), size: data.length });
    expect(await collect(await store.open(sha(data)))).toEqual(data);
    expect(await collect(await store.open(sha(data), { start: 7, end: 13 }))).toEqual(data.subarray(7, 14));
    expect(await collect(await store.open(sha(data), { start: data.length - 3 }))).toEqual(data.subarray(-3));
    expect((await failure(store.open(sha(data), { start: data.length }))).code).toBe(
      'BLOB_RANGE_NOT_SATISFIABLE',
    );
  });

  it('verifies an expected digest and keeps nothing on a mismatch, naming both digests', async () => {
    const data = Buffer.from('real bytes');
    const claimed = sha(Buffer.from('other bytes'));
    const err = await failure(store.put(data, { expectedDigest: claimed }));
    expect(err.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(err.message).toBe(`content does not match its digest: expected ${claimed}, got ${sha(data)}`);
    expect(dirFiles()).toEqual([]);
    expect(await store.has(claimed)).toBe(false);
    expect(await store.has(sha(data))).toBe(false);
  });

  it('checks size and the byte cap, removing the temp file', async () => {
    const data = Buffer.alloc(1000, 1);
    expect((await failure(store.put(data, { expectedSize: 999 }))).code).toBe('BLOB_DIGEST_MISMATCH');
    expect((await failure(store.put(data, { maxBytes: 999 }))).code).toBe('BLOB_TOO_LARGE');
    expect(dirFiles()).toEqual([]);
  });

  it('validates digests before building any path', async () => {
    for (const bad of [
      'sha256:../../etc/passwd',
      '../x',
      'sha256:ABC',
      'md5:0123456789abcdef0123456789abcdef',
      '',
    ]) {
      expect(() => store.path(bad)).toThrow(WardenError);
      expect((await failure(store.has(bad))).code).toBe('BLOB_DIGEST_INVALID');
    }
    expect((await failure(store.put(Buffer.from('x'), { expectedDigest: 'sha256:zz' }))).code).toBe(
      'BLOB_DIGEST_INVALID',
    );
  });

  it('concurrent puts of one digest all succeed and leave one blob, no temp files', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const slow = () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
        })(),
      );
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.put(slow(), { expectedDigest: sha(data) })),
    );
    expect(new Set(results.map((r) => r.digest))).toEqual(new Set([sha(data)]));
    expect(dirFiles()).toEqual([sha(data).slice(7)]);
    expect(readFileSync(store.path(sha(data))).equals(data)).toBe(true); // toEqual walks buffers byte by byte
  });

  it('staged blobs are invisible until committed, and gone when discarded', async () => {
    const a = await store.stage(Buffer.from('a'));
    const b = await store.stage(Buffer.from('b'));
    expect(await store.has(a.digest)).toBe(false);
    expect((await a.read()).toString()).toBe('a');
    await a.commit();
    await b.discard();
    expect(await store.has(a.digest)).toBe(true);
    expect(await store.has(b.digest)).toBe(false);
    expect(await store.list()).toEqual([a.digest]);
    expect(await store.delete(a.digest)).toBe(true);
    expect(await store.delete(a.digest)).toBe(false);
    expect(dirFiles()).toEqual([]);
  });

  it('answers BLOB_NOT_FOUND for an absent blob', async () => {
    const err = await failure(store.open(sha(Buffer.from('never stored'))));
    expect(err.code).toBe('BLOB_NOT_FOUND');
    expect(err.status).toBe(404);
  });
});
