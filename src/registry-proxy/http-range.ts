import { WardenError } from '../platform/errors';

/**
 * A single `Range: bytes=a-b | a- | -n` (RFC 9110 §14.1.2) against a blob of `size` bytes:
 * undefined when there is no usable range header (serve it all), inclusive offsets when
 * satisfiable, BLOB_RANGE_NOT_SATISFIABLE (416) when not. Multi-range requests are answered
 * whole, which the RFC allows; registry clients never send them.
 */
export function parseRange(
  header: string | undefined,
  size: number,
  digest: string,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) start = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size || start > end)
    throw new WardenError(
      'BLOB_RANGE_NOT_SATISFIABLE',
      `range ${header} is outside blob ${digest} of ${size} bytes`,
      {
        digest,
        size,
      },
    );
  return { start, end };
}
