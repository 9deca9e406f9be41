import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { AttachTransport } from './attach-sessions';

/**
 * A WebSocket as an attach transport (`/containers/{id}/attach/ws` on REST and on the Docker
 * socket): output as binary messages, as moby sends them since API 1.42; each message the
 * client sends (text or binary) is stdin. Closing either side ends the attach.
 */
export function websocketTransport(ws: WebSocket): AttachTransport {
  const input = new PassThrough();
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const chunk = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    input.write(chunk);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void closed.then(() => input.end());
  ws.on('error', () => undefined); // 'close' follows
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (ws.readyState !== ws.OPEN) return done();
      ws.send(chunk, { binary: true }, () => done());
    },
  });
  return {
    out,
    input,
    head: Buffer.alloc(0),
    end: () => {
      // What is queued goes first; then the close handshake.
      out.end(() => ws.close(1000));
    },
    onClose: (fn) => void closed.then(fn),
  };
}
