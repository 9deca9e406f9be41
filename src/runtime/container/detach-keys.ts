import { Transform, type TransformCallback } from 'node:stream';
import { WardenError } from '../../platform/errors';

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * Docker's detach keys (`--detach-keys`, the `detachKeys` query, an exec's `DetachKeys`): a
 * comma-separated list of `ctrl-<a-z @ [ \ ] ^ _>` or single characters, e.g. `ctrl-p,ctrl-q`.
 * Unparseable keys are a 400 that quotes them.
 */
export function parseDetachKeys(spec: string | null | undefined): Buffer {
  const text = spec || DEFAULT_DETACH_KEYS;
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    const k = key.trim().toLowerCase();
    const ctrl = /^ctrl-(.)$/.exec(k);
    if (ctrl) {
      const c = ctrl[1];
      if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) bytes.push('@[\\]^_'.indexOf(c) === 0 ? 0 : 26 + '@[\\]^_'.indexOf(c));
      else throw invalidKeys(text);
    } else if (key.length === 1) bytes.push(key.charCodeAt(0));
    else throw invalidKeys(text);
  }
  return Buffer.from(bytes);
}

function invalidKeys(text: string): WardenError {
  return new WardenError(
    'VALIDATION_FAILED',
    `Invalid detach keys (${text}) provided: use a comma-separated list such as ctrl-p,ctrl-q (ctrl-<a-z @ [ \\ ] ^ _> or single characters)`,
  );
}

/**
 * The client's stdin on its way to the container, watching for the detach sequence (moby's
 * escape proxy): bytes that may start the sequence are held back until it is clear they do
 * not; the whole sequence is swallowed and calls `onDetach`, after which nothing more passes.
 */
export class DetachKeyFilter extends Transform {
  private held = 0;
  private detached = false;

  constructor(
    private readonly keys: Buffer,
    private readonly onDetach: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.detached || this.keys.length === 0) return done(null, this.detached ? undefined : chunk);
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) {
          this.detached = true;
          if (out.length) this.push(Buffer.from(out));
          this.onDetach();
          return done();
        }
        continue;
      }
      // Not the sequence after all: what was held goes through, then this byte is looked at anew.
      out.push(...this.keys.subarray(0, this.held));
      this.held = 0;
      if (byte === this.keys[0]) this.held = 1;
      else out.push(byte);
    }
    done(null, out.length ? Buffer.from(out) : undefined);
  }

  override _flush(done: TransformCallback): void {
    done(null, !this.detached && this.held ? this.keys.subarray(0, this.held) : undefined);
  }
}
