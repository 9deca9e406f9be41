import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/** Bytes per file read: 256 KiB–1 MiB all reach page-cache speed here; fewer, larger reads cost less CPU. */
const CHUNK = 1024 * 1024;
/** Reads in flight while the previous chunk is being written: the thread pool's latency stays hidden. */
const READ_AHEAD = 2;
/** Bytes queued on the socket before waiting for it to drain. */
const MAX_QUEUED = 2 * CHUNK;
/** Read buffers kept for reuse across responses. */
const POOL_MAX = 32;

/*
 * Read buffers are reused, not allocated per read: a fresh 1 MiB Buffer is fresh memory the
 * kernel must fault in and zero, and garbage V8 must later collect; measured on a warm 100 MiB
 * blob, createReadStream's per-read buffers cost about twice the CPU of reused ones. A buffer
 * goes back to the pool only from its write callback, once the socket no longer holds it.
 */
const pool: Buffer[] = [];
const take = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const give = (buf: Buffer) => {
  if (pool.length < POOL_MAX) pool.push(buf);
};

interface Chunk {
  buf: Buffer;
  bytes: number;
}

async function readAt(fh: FileHandle, pos: number, n: number): Promise<Chunk> {
  const buf = take();
  try {
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    if (bytesRead !== n) throw new Error(`file ended at ${pos + bytesRead}, expected ${pos + n}`);
    return { buf, bytes: n };
  } catch (err) {
    give(buf);
    throw err;
  }
}

/**
 * Writes bytes [start, end] (inclusive) of a file to `out` and ends it. Resolves with the
 * bytes handed to `out` and whether all of them were (false: `out` was closed first).
 */
export async function sendFileRange(
  path: string,
  start: number,
  end: number,
  out: Writable,
): Promise<{ sent: number; complete: boolean }> {
  const fh = await open(path, 'r');
  const reads: Array<Promise<Chunk>> = [];
  let next = start;
  let sent = 0;
  let wake: () => void = () => undefined;
  const onClose = () => wake();
  out.once('close', onClose);
  const issue = () => {
    while (reads.length < READ_AHEAD && next <= end) {
      const n = Math.min(CHUNK, end + 1 - next);
      const read = readAt(fh, next, n);
      // Awaited in order below; a read that fails after an earlier one ended the loop is not "unhandled".
      read.catch(() => undefined);
      reads.push(read);
      next += n;
    }
  };
  try {
    issue();
    while (reads.length) {
      const { buf, bytes } = await reads.shift()!;
      if (out.destroyed) {
        give(buf);
        return { sent, complete: false };
      }
      out.write(bytes === CHUNK ? buf : buf.subarray(0, bytes), () => give(buf));
      sent += bytes;
      issue();
      if (out.writableLength > MAX_QUEUED) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          out.once('drain', resolve);
        });
        out.removeListener('drain', wake);
        if (out.destroyed) return { sent, complete: false };
      }
    }
    out.end();
    return { sent, complete: true };
  } finally {
    out.removeListener('close', onClose);
    // Reads still in flight (the client left, or one failed) finish before the file closes.
    for (const r of await Promise.allSettled(reads)) if (r.status === 'fulfilled') give(r.value.buf);
    await fh.close().catch(() => undefined);
  }
}
