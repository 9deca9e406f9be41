import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** What an exec's audit event keeps of its transcript. */
export interface RecordingSummary {
  /** sha256 of the stored file's bytes, as served by GET /exec-recordings/:id. */
  sha256: string;
  bytes: number;
  /** The cap was reached: what came after it is not in the transcript. */
  truncated: boolean;
  /** Writing failed (e.g. a full disk): the transcript ends there, and says nothing after. */
  error?: string;
}

export const EXEC_ID_RE = /^[0-9a-f]{64}$/;

/** `<data dir>/exec-recordings/<exec id>.cast`: one transcript per recorded exec. */
export function recordingPath(dataDir: string, execId: string): string {
  if (!EXEC_ID_RE.test(execId)) throw new Error(`not an exec id: ${execId}`);
  return path.join(dataDir, 'exec-recordings', `${execId}.cast`);
}

// Room kept under the cap for the line that says the transcript was cut.
const MARKER_ROOM = 256;

/**
 * A recorded exec session (issue 15), in asciicast v2 (asciinema's format: a JSON header
 * line, then `[seconds, "o"|"i", text]` per chunk; "o" is output — stdout and stderr, which a
 * TTY does not tell apart either — and "i" is what was typed). Written synchronously as the
 * relay passes each chunk through, so the file, its size and its hash agree at every moment;
 * past `maxBytes` a marker event says so and nothing more is kept.
 */
export class SessionRecorder {
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private readonly started = process.hrtime.bigint();
  private readonly decoders = {
    o: new StringDecoder('utf8'),
    e: new StringDecoder('utf8'),
    i: new StringDecoder('utf8'),
  };
  private bytes = 0;
  private truncated = false;
  private error: string | undefined;
  private closed: RecordingSummary | undefined;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    header: Record<string, unknown>,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(file, 'wx', 0o600);
    this.write(
      `${JSON.stringify({ version: 2, width: 80, height: 24, timestamp: Math.floor(Date.now() / 1000), ...header })}\n`,
    );
  }

  output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this.event('o', this.decoders[stream === 'stdout' ? 'o' : 'e'].write(chunk));
  }

  input(chunk: Buffer): void {
    this.event('i', this.decoders.i.write(chunk));
  }

  /** Closes the file (idempotent): what the exec's end event records. */
  close(): RecordingSummary {
    if (this.closed) return this.closed;
    for (const [code, d] of [
      ['o', this.decoders.o],
      ['o', this.decoders.e],
      ['i', this.decoders.i],
    ] as const)
      this.event(code, d.end());
    fs.closeSync(this.fd);
    this.closed = { sha256: this.hash.digest('hex'), bytes: this.bytes, truncated: this.truncated };
    if (this.error !== undefined) this.closed.error = this.error;
    return this.closed;
  }

  private event(code: 'o' | 'i' | 'm', text: string): void {
    if (this.closed || this.truncated || this.error !== undefined || text === '') return;
    const at = Number(process.hrtime.bigint() - this.started) / 1e9;
    const line = `${JSON.stringify([Number(at.toFixed(6)), code, text])}\n`;
    if (this.bytes + Buffer.byteLength(line) > this.maxBytes - MARKER_ROOM) {
      this.truncated = true;
      this.write(
        `${JSON.stringify([Number(at.toFixed(6)), 'm', `transcript cut: cap of ${this.maxBytes} bytes reached`])}\n`,
      );
      return;
    }
    this.write(line);
  }

  /**
   * Called from the relay's data handlers: a failure must not reach them (it would end the
   * session, or the process). The hash covers exactly the bytes that reached the file.
   */
  private write(text: string): void {
    const buf = Buffer.from(text);
    let done = 0;
    try {
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done);
    } catch (err) {
      this.error = (err as Error).message;
    }
    this.hash.update(buf.subarray(0, done));
    this.bytes += done;
  }
}
