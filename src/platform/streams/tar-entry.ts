import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as tar from 'tar-stream';

/**
 * Adds one entry to a tar-stream pack (no body: a directory, link or empty file; a buffer; or
 * a stream to copy, which is destroyed if the entry cannot be added) and resolves once the
 * pack has it; every failure comes back through the promise.
 *
 * Why not `pack.entry(header, body, cb)` alone: a pack destroyed while an entry is open (its
 * reader left, and `pipeline` destroyed it with the reader's `Premature close`) destroys that
 * entry's sink with the same error, and the sink, a streamx Writable, emits it as 'error'. The
 * callback hears it too, but an 'error' no one listens to is an uncaught exception: a `docker
 * save` whose client hung up brought the whole process down.
 */
export function addTarEntry(
  pack: tar.Pack,
  header: Partial<tar.Header> & { name: string },
  body?: Buffer | Readable,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    let sink: ReturnType<tar.Pack['entry']>;
    try {
      sink =
        body === undefined
          ? pack.entry(header, done)
          : Buffer.isBuffer(body)
            ? pack.entry(header, body, done)
            : pack.entry(header, done);
    } catch (err) {
      if (body !== undefined && !Buffer.isBuffer(body)) body.destroy();
      return reject(err as Error);
    }
    sink.on('error', () => undefined); // reported through `done`
    if (body !== undefined && !Buffer.isBuffer(body))
      pipeline(body, sink as unknown as NodeJS.WritableStream).catch((err: Error) => reject(err));
  });
}
