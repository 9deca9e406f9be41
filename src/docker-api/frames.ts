/**
 * Docker's stdio multiplexing for streams without a TTY (Engine API, "Attach to a container"):
 * each frame is an 8-byte header `[stream, 0, 0, 0, size as u32 big-endian]` and the payload.
 * Stream 0 is stdin, 1 stdout, 2 stderr.
 */
export type StdStream = 'stdin' | 'stdout' | 'stderr';

const STREAM_IDS: Record<StdStream, number> = { stdin: 0, stdout: 1, stderr: 2 };
const HEADER = 8;
// Large writes are split so that a single frame never needs an unbounded client buffer.
const MAX_FRAME = 1 << 20;

export function muxFrames(stream: StdStream, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const parts: Buffer[] = [];
  // An empty payload means nothing to a reader: no frame at all.
  for (let off = 0; off < data.length; off += MAX_FRAME) {
    const chunk = data.subarray(off, off + MAX_FRAME);
    const header = Buffer.alloc(HEADER);
    header[0] = STREAM_IDS[stream];
    header.writeUInt32BE(chunk.length, 4);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

export interface Frame {
  stream: StdStream;
  payload: Buffer;
}

/**
 * The reading side, for tests and tools: feed bytes as they arrive, get whole frames back;
 * a partial frame waits for the rest.
 */
export class FrameReader {
  private pending = Buffer.alloc(0);

  push(bytes: Buffer): Frame[] {
    this.pending = Buffer.concat([this.pending, bytes]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER + size) break;
      const id = this.pending[0];
      const stream = (Object.keys(STREAM_IDS) as StdStream[]).find((k) => STREAM_IDS[k] === id);
      if (!stream) throw new Error(`invalid stream id ${id} in frame header`);
      frames.push({ stream, payload: this.pending.subarray(HEADER, HEADER + size) });
      this.pending = this.pending.subarray(HEADER + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting. */
  get buffered(): number {
    return this.pending.length;
  }
}
