import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { socketRequest } from './socket-request';

/*
 * The framings a registry or a storage host may answer a blob GET with, from a raw TCP peer
 * that writes exactly the bytes given (split where a real network might split them). The
 * upstream registries of the integration tests cover the usual answers end to end.
 */
const body = randomBytes(300_000);

function chunked(data: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) {
    const piece = data.subarray(off, off + size);
    parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\nTrailer-A: x\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Writes `parts` one per event-loop turn, then closes. */
const answers: Record<string, Buffer[]> = {
  '/length': [Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body],
  '/split-head': [
    Buffer.from('HTTP/1.1 200 OK\r\nCont'),
    Buffer.from(`ent-Length: ${body.length}\r\nX-A: 1\r\nX-A: 2\r\n\r`),
    Buffer.concat([Buffer.from('\n'), body]),
  ],
  '/interim': [
    Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n'),
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
  ],
  '/chunked': (() => {
    const all = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      chunked(body, 70_001),
    ]);
    const parts: Buffer[] = [];
    for (let off = 0; off < all.length; off += 777) parts.push(all.subarray(off, off + 777));
    return parts;
  })(),
  '/until-close': [Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), body],
  '/short': [Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 10}\r\n\r\n`), body],
  '/not-found': [Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!')],
};

describe('socketRequest', () => {
  let server: net.Server;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = net.createServer((s) => {
      let head = '';
      s.on('error', () => undefined);
      s.on('data', (d) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        seen.push(head);
        const parts = [...(answers[head.split(' ')[1]] ?? [])];
        const next = () => (parts.length ? s.write(parts.shift()!, () => setImmediate(next)) : s.end());
        next();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function get(path: string, headers: Record<string, string> = {}) {
    const res = await socketRequest(new URL(base + path), { method: 'GET', headers, timeoutMs: 5000 });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    res.on('error', (err) => (error = err.message));
    await new Promise<void>((resolve) => {
      res.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
      res.on('end', resolve);
      res.on('close', resolve);
    });
    return { res, bytes: Buffer.concat(chunks), error };
  }

  it.each(['/length', '/split-head', '/interim', '/chunked', '/until-close'])(
    '%s: the whole body, exactly',
    async (path) => {
      const { res, bytes, error } = await get(path);
      expect([res.statusCode, error, bytes.equals(body)]).toEqual([200, undefined, true]);
    },
  );

  it('sends the request line, headers and Connection: close; joins repeated response headers', async () => {
    const { res } = await get('/split-head', { authorization: 'Bearer t' });
    expect(res.headers['x-a']).toBe('1, 2');
    expect(seen.at(-1)).toMatch(
      /^GET \/split-head HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nauthorization: Bearer t\r\nconnection: close\r\n\r\n$/,
    );
  });

  it('a body cut short fails the response; an error status still has its body', async () => {
    const short = await get('/short');
    expect(short.error).toMatch(/closed the connection mid-body/);
    const missing = await get('/not-found');
    expect([missing.res.statusCode, missing.bytes.toString()]).toEqual([404, 'nope!']);
  });

  it('speaks plain http only: https stays with the pooled http client', async () => {
    await expect(
      socketRequest(new URL('https://127.0.0.1:1/x'), { method: 'GET', headers: {}, timeoutMs: 5000 }),
    ).rejects.toThrow(/plain http/);
  });

  it('refuses a header value with a line break instead of sending it', async () => {
    await expect(
      socketRequest(new URL(`${base}/length`), {
        method: 'GET',
        headers: { authorization: 'a\r\nX-Evil: 1' },
        timeoutMs: 5000,
      }),
    ).rejects.toThrow(/invalid character in header authorization/);
  });
});
