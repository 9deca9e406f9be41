import * as net from 'node:net';

export type Target = { host: string; port: number } | { socketPath: string };

export interface RawRequest {
  method: string;
  /** Path and query, already encoded as they go on the wire. */
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
}

export interface RawResponse {
  /** HTTP status, or undefined when the connection closed (or timed out) before one came. */
  status?: number;
  /** The connection ended without a status line. */
  dropped: boolean;
  /** No status line within the time limit. */
  hung: boolean;
  /** Response headers and up to a few KB of body, for the report. */
  text: string;
}

/**
 * One request on its own connection, written byte for byte (so NUL bytes, bad encodings and
 * odd headers reach the server as sent — Node's own client refuses many of them), read until
 * the body is complete, the connection closes, or `timeoutMs` passes. A streaming answer
 * (logs, events, attach) is cut once its head and a first chunk arrive.
 */
export function rawRequest(to: Target, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const lines = [`${req.method} ${req.target} HTTP/1.1`, 'Host: warden'];
  if (!req.headers.some(([k]) => k.toLowerCase() === 'connection')) lines.push('Connection: close');
  for (const [k, v] of req.headers) lines.push(`${k}: ${v}`);
  if (req.body) lines.push(`Content-Length: ${req.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve) => {
    const socket = 'socketPath' in to ? net.connect(to.socketPath) : net.connect(to.port, to.host);
    let buf = Buffer.alloc(0);
    let done = false;
    let status: number | undefined;
    let headEnd = -1;
    const finish = (hung = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = buf.subarray(0, 4096).toString('utf8');
      resolve({ status, dropped: status === undefined && !hung, hung: status === undefined && hung, text });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (status === undefined) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, 64).toString('latin1'));
        if (m) status = Number(m[1]);
      }
      if (headEnd < 0) headEnd = buf.indexOf('\r\n\r\n');
      if (status !== undefined && headEnd >= 0) {
        const headers = buf.subarray(0, headEnd).toString('latin1');
        const length = /\r\ncontent-length: *(\d+)/i.exec(headers);
        // A streamed or hijacked answer: the head says what was answered; stop reading there.
        if (!length || status === 101 || buf.length >= headEnd + 4 + Number(length[1])) finish();
      }
    });
    socket.write(head);
    if (req.body?.length) socket.write(req.body);
    // Hijacked routes read stdin until the client half-closes. Other requests stay open both
    // ways until answered: Node's server aborts a request whose client half-closed early.
    if (req.headers.some(([k, v]) => k.toLowerCase() === 'upgrade' && v)) socket.end();
  });
}
