import * as net from 'node:net';

/**
 * A hijacked Docker API stream, as the CLI opens one (`Connection: Upgrade`, `Upgrade: tcp`):
 * the status line and headers, then raw bytes both ways. `received` is everything after the
 * headers, as bytes: the tests look at the stream's shape (raw or 8-byte frames) themselves.
 */
export interface HijackedStream {
  status: number;
  headers: string;
  received(): Buffer;
  write(data: string | Buffer): void;
  /** Half-closes: the client has no more input. */
  endInput(): void;
  closed: Promise<void>;
  destroy(): void;
}

export function hijack(socketPath: string, path: string, body?: unknown): Promise<HijackedStream> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const payload = body === undefined ? '' : JSON.stringify(body);
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: string } | undefined;
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (head) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = buf.subarray(0, end).toString();
      head = { status: Number(headers.split(' ')[1]), headers };
      buf = buf.subarray(end + 4);
      resolve({
        ...head,
        received: () => buf,
        write: (data) => s.write(data),
        endInput: () => s.end(),
        closed,
        destroy: () => s.destroy(),
      });
    });
    s.write(
      `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
  });
}
