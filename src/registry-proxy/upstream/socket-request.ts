import { IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import * as net from 'node:net';
import { release, retain, SLAB_SIZE, takeSlab } from './slabs';

/*
 * One HTTP/1.1 request on its own connection, with the response body read straight from the
 * socket into large slabs: for blob GETs, where the body is most of the cost.
 *
 * Node's http client hands a body over in 64 KiB pieces that its parser copies into freshly
 * allocated Buffers; measured on a 100 MiB loopback blob, receiving and hashing it that way
 * costs ~1.5 CPU-s/GB, reading the socket with `onread` into slabs ~0.95 (the hash alone is
 * ~0.6). Every read lands in the unused tail of the current slab and the piece read is a view
 * of it, so nothing is copied; slabs come from a pool and go back when every holder of a piece
 * released it (slabs.ts: each pushed piece carries one reference for its consumer).
 *
 * The answer is a real IncomingMessage (status, headers, a readable body with pause/resume
 * and destroy), so callers treat it like the http client's. Plain http only, and the
 * connection is not reused (`Connection: close`): a new TCP connection to a registry on the
 * same network costs nothing next to a blob (https stays with the pooled http client, see
 * http-request.ts). Bodies framed by Content-Length, chunked encoding, or the connection's end.
 */

/**
 * Slab room below which a slab is retired. Each read may fill all the room left (up to 4 MiB):
 * measured A/B on 100 MiB loopback blobs, reads capped at 256 KiB cost ~15% more CPU per GB
 * than 1 MiB ones, and those ~5% more than uncapped ones.
 */
const MIN_READ = 1024 * 1024;
const MAX_HEAD = 64 * 1024;

export interface SocketRequestOptions {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  timeoutMs: number;
}

type Framing =
  | { kind: 'length'; left: number }
  | { kind: 'chunked'; state: 'size' | 'data' | 'crlf' | 'trailer'; left: number; line: string }
  | { kind: 'close' }
  | { kind: 'none' };

/** Resolves with the response once its head arrived; errors before that reject (connect, timeout). */
export function socketRequest(url: URL, opts: SocketRequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lines = [`${opts.method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
    for (const [k, v] of Object.entries(opts.headers)) {
      // As the http client refuses them: a token with a line break must not add headers.
      if (/[\r\n\0]/.test(k + v)) return reject(new Error(`invalid character in header ${k}`));
      lines.push(`${k}: ${v}`);
    }
    lines.push('connection: close', '', '');
    if (url.protocol !== 'http:')
      return reject(new Error(`socketRequest speaks plain http, not ${url.protocol}`));
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let slab: Buffer | undefined = takeSlab();
    let used = 0;
    let head: Buffer | undefined = Buffer.alloc(0);
    let res: IncomingMessage | undefined;
    let framing: Framing = { kind: 'none' };
    let done = false;

    const onread = {
      buffer: () => {
        if (SLAB_SIZE - used < MIN_READ) {
          retire();
          slab = takeSlab();
          used = 0;
        }
        return slab!.subarray(used);
      },
      callback: (nread: number, buf: Uint8Array) => {
        const data = (buf as Buffer).subarray(0, nread);
        used += nread;
        try {
          if (head) onHead(data);
          else onBody(data);
        } catch (err) {
          socket.destroy(err as Error);
        }
        return true;
      },
    };
    const socket = net.connect({ host, port: Number(url.port) || 80, onread });
    socket.setNoDelay(true);
    socket.setTimeout(opts.timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)),
    );
    socket.on('error', (err) => (res ? res.destroy(err) : reject(err)));
    socket.on('end', () => {
      if (res && framing.kind === 'close') finish();
    });
    socket.on('close', () => {
      retire();
      if (!res) reject(new Error('connection closed before an answer'));
      else if (!done) res.destroy(new Error('upstream closed the connection mid-body'));
    });

    socket.write(lines.join('\r\n'));

    function onHead(data: Buffer): void {
      const all: Buffer = head!.length ? Buffer.concat([head!, data]) : data;
      const endOfHead = all.indexOf('\r\n\r\n');
      if (endOfHead < 0) {
        if (all.length > MAX_HEAD) throw new Error(`response head exceeds ${MAX_HEAD} bytes`);
        // A copy: small, and the rest of the head arrives in the next read.
        head = Buffer.from(all);
        return;
      }
      head = undefined;
      const [status, ...fields] = all.subarray(0, endOfHead).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(status);
      if (!m) throw new Error(`malformed status line: ${status.slice(0, 100)}`);
      // An interim answer (103 Early Hints, say; RFC 9110 §15.2): the real one follows.
      if (m[1].startsWith('1') && m[1] !== '101') {
        head = Buffer.alloc(0);
        if (all.length > endOfHead + 4) onHead(Buffer.from(all.subarray(endOfHead + 4)));
        return;
      }
      const headers: IncomingHttpHeaders = {};
      const rawHeaders: string[] = [];
      for (const f of fields) {
        const i = f.indexOf(':');
        if (i <= 0) throw new Error(`malformed header line: ${f.slice(0, 100)}`);
        const name = f.slice(0, i).trim();
        const value = f.slice(i + 1).trim();
        rawHeaders.push(name, value);
        const key = name.toLowerCase();
        const prev = headers[key];
        headers[key] = prev === undefined ? value : `${String(prev)}, ${value}`;
      }
      framing = framingOf(opts.method, Number(m[1]), headers);
      const r = new IncomingMessage(socket as net.Socket);
      r.statusCode = Number(m[1]);
      r.statusMessage = m[2] ?? '';
      r.httpVersion = status.slice(5, 8);
      r.headers = headers;
      r.rawHeaders = rawHeaders;
      res = r;
      resolve(r);
      if (framing.kind === 'none' || (framing.kind === 'length' && framing.left === 0)) finish();
      else if (all.length > endOfHead + 4) onBody(all.subarray(endOfHead + 4));
    }

    function onBody(data: Buffer): void {
      if (done) return;
      if (framing.kind === 'chunked') return dechunk(data);
      if (framing.kind === 'length') {
        const piece = data.length > framing.left ? data.subarray(0, framing.left) : data;
        framing.left -= piece.length;
        push(piece);
        if (framing.left === 0) finish();
        return;
      }
      push(data);
    }

    /** RFC 9112 §7.1: hex size line (extensions ignored), data, CRLF; a zero size ends it, then trailers. */
    function dechunk(data: Buffer): void {
      const f = framing as Extract<Framing, { kind: 'chunked' }>;
      let pos = 0;
      while (pos < data.length && !done) {
        if (f.state === 'data') {
          const n = Math.min(f.left, data.length - pos);
          push(data.subarray(pos, pos + n));
          pos += n;
          f.left -= n;
          if (f.left === 0) f.state = 'crlf';
          continue;
        }
        const nl = data.indexOf(10, pos);
        f.line += data.toString('latin1', pos, nl < 0 ? data.length : nl + 1);
        if (f.line.length > 4096) throw new Error('chunk size line too long');
        if (nl < 0) return;
        pos = nl + 1;
        const line = f.line.trim();
        f.line = '';
        if (f.state === 'crlf') {
          if (line !== '') throw new Error('chunk data not followed by CRLF');
          f.state = 'size';
        } else if (f.state === 'size') {
          const size = /^[0-9a-fA-F]+/.exec(line);
          if (!size) throw new Error(`malformed chunk size: ${line.slice(0, 40)}`);
          f.left = parseInt(size[0], 16);
          f.state = f.left === 0 ? 'trailer' : 'data';
        } else if (line === '') finish();
      }
    }

    /** The consumer gets one reference to the piece's slab (slabs.ts). */
    function push(piece: Buffer): void {
      if (!piece.length) return;
      retain(piece);
      if (!res!.push(piece)) socket.pause();
    }

    /** Reads no longer land in this slab: drop the filler's reference. */
    function retire(): void {
      if (slab) release(slab);
      slab = undefined;
    }

    function finish(): void {
      if (done) return;
      done = true;
      res!.complete = true;
      res!.push(null);
      // Nothing else comes on this connection (`Connection: close`).
      socket.destroy();
    }
  });
}

function framingOf(method: string, status: number, headers: IncomingHttpHeaders): Framing {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return { kind: 'none' };
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(String(te))) throw new Error(`unsupported transfer-encoding: ${te}`);
    return { kind: 'chunked', state: 'size', left: 0, line: '' };
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) throw new Error(`malformed content-length: ${length.slice(0, 40)}`);
    return { kind: 'length', left: Number(length) };
  }
  return { kind: 'close' };
}
