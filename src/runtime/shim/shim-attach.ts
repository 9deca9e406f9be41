import { PassThrough, Writable, type Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { connectCtl } from './shim-state';

/*
 * Attach sessions on a monitoring shim's control socket (native/shim/attach.c has the whole
 * protocol). After the shim's "PID …\n" line both sides speak frames,
 * [type u8][length u32 big-endian][payload]:
 *
 *   Warden ──► shim                        shim ──► Warden (after 'a')
 *   'a' "<from>"  attach (0: from the run's  'o' bytes          the terminal's output
 *                 start, -1: from now)      'x' "<code> <sig>"  the process ended; then EOF
 *   'i' bytes     stdin (≤ 4 KiB a frame)
 *   'e'           end of stdin (a pipe closes; a terminal has no end)
 *   'w' "<rows> <cols>"  the terminal's size
 *
 * Without a terminal and without a log (`--log-driver none`) the 'o' frames carry records,
 * [1 stdout | 2 stderr][u32 BE length][bytes], a record possibly spanning frames: the
 * session's output has them whole, as {stream, data}, with `records`.
 *
 * The shim serves whichever Warden connects: a container started by a previous Warden is
 * attached to, fed and resized the same way (live restore).
 */

const HEADER = 5;
/** The shim's bound on one stdin frame (MAX_IN in attach.c). */
const MAX_INPUT = 4096;

export function shimFrame(type: 'a' | 'i' | 'e' | 'w', payload: Buffer | string = ''): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(data.length, 1);
  return Buffer.concat([header, data]);
}

/** Resize frames, also for an exec's terminal on the shim's control fd. */
export function resizeFrame(rows: number, cols: number): Buffer {
  return shimFrame('w', `${rows} ${cols}`);
}

/** One piece of a container's output without a terminal, as the shim read it from a pipe. */
export interface OutputRecord {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ShimAttachment {
  /**
   * The terminal's raw output; with `records`, objects ({@link OutputRecord}: no terminal, no
   * log). Nothing otherwise. Ends with the session.
   */
  output: Readable;
  /** Stdin for the container; a write waits while the shim holds back (its queue is full). */
  stdin: Writable;
  /** Ends the container's stdin (a pipe; Docker's StdinOnce). A terminal stays open. */
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** Leaves the session (detach); the container goes on. */
  close(): void;
  /** The exit the shim reported at the end, or undefined when the session ended otherwise. */
  ended: Promise<{ exitCode: number; signal: number } | undefined>;
}

/** Opens an attach session on the container whose shim state is in `stateDir`. */
export async function attachShim(
  stateDir: string,
  from: 'start' | 'now',
  opts: { records?: boolean } = {},
): Promise<ShimAttachment> {
  const socket = await connectCtl(stateDir);
  socket.on('error', () => undefined); // 'close' follows
  const output = new PassThrough({ objectMode: !!opts.records });
  const split = opts.records ? new RecordSplitter() : undefined;
  let exit: { exitCode: number; signal: number } | undefined;
  const ended = new Promise<typeof exit>((resolve) =>
    socket.once('close', () => {
      output.end();
      resolve(exit);
    }),
  );
  let pending: Buffer = Buffer.alloc(0);
  let hello = false;
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    if (!hello) {
      const nl = pending.indexOf(0x0a);
      if (nl < 0) return;
      hello = true;
      pending = pending.subarray(nl + 1);
    }
    while (pending.length >= HEADER) {
      const len = pending.readUInt32BE(1);
      if (pending.length < HEADER + len) break;
      const type = String.fromCharCode(pending[0]);
      const payload = pending.subarray(HEADER, HEADER + len);
      pending = pending.subarray(HEADER + len);
      const more =
        type !== 'o'
          ? true
          : split
            ? split
                .push(payload)
                .map((r) => output.write(r))
                .every(Boolean)
            : output.write(payload);
      if (type === 'o' && !more) {
        // Back-pressure: the shim keeps what we do not read, and holds the terminal.
        socket.pause();
        output.once('drain', () => socket.resume());
      } else if (type === 'x') {
        const [code, sig] = payload.toString().split(' ').map(Number);
        exit = { exitCode: code < 0 ? 128 + sig : code, signal: sig };
      }
    }
  });
  socket.write(shimFrame('a', from === 'start' ? '0' : '-1'));
  return {
    output,
    stdin: stdinWriter(socket),
    closeStdin: () => socket.writable && socket.write(shimFrame('e')),
    resize: (rows, cols) => socket.writable && socket.write(resizeFrame(rows, cols)),
    close: () => socket.destroy(),
    ended,
  };
}

function stdinWriter(socket: Socket): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!socket.writable) return done(); // the session is over: the input has nowhere to go
      for (let off = 0; off < chunk.length; off += MAX_INPUT)
        socket.write(shimFrame('i', chunk.subarray(off, off + MAX_INPUT)));
      // Waits for the socket to take it: the shim stops reading while its queue is full.
      if (socket.writableNeedDrain) socket.once('drain', () => done());
      else done();
    },
  });
}

/** Sets the terminal's size; resolves once the shim has read it (it closes after our EOF). */
export async function resizeShim(stateDir: string, rows: number, cols: number): Promise<void> {
  const socket = await connectCtl(stateDir);
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.end(resizeFrame(rows, cols));
  });
}

/** Whole records out of the concatenated 'o' payloads (a record may span frames). */
class RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): OutputRecord[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: OutputRecord[] = [];
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < HEADER + len) break;
      out.push({
        stream: this.pending[0] === 2 ? 'stderr' : 'stdout',
        data: Buffer.from(this.pending.subarray(HEADER, HEADER + len)),
      });
      this.pending = this.pending.subarray(HEADER + len);
    }
    return out;
  }
}
