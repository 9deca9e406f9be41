import type { NextFunction, Request, Response } from 'express';
import { toErrorBody, WardenError } from '../../errors';

/**
 * Belt and braces under the per-route schemas: no path segment, query value or JSON string
 * (key or value, at any depth) may carry a NUL byte or a broken %-encoding, and JSON may not
 * nest deeper than MAX_DEPTH. Whatever a route forgets, such input never reaches PostgreSQL,
 * the kernel or the shim. Returns the problem, or undefined.
 */
export const MAX_DEPTH = 64;

export function urlProblem(rawUrl: string): string | undefined {
  const q = rawUrl.indexOf('?');
  const parts = [
    ['path', q < 0 ? rawUrl : rawUrl.slice(0, q)],
    ['query', q < 0 ? '' : rawUrl.slice(q + 1)],
  ] as const;
  for (const [where, part] of parts) {
    if (part.includes('\0')) return `the ${where} contains a NUL byte`;
    for (const piece of part.split(/[/&=]/)) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(piece);
      } catch {
        return `the ${where} has a %-escape that is not UTF-8 (${piece.slice(0, 40)})`;
      }
      if (decoded.includes('\0')) return `the ${where} contains a NUL byte (%00)`;
    }
  }
  return undefined;
}

/** The first NUL-bearing string in a JSON value (iteratively: no recursion on deep input). */
export function jsonProblem(value: unknown): string | undefined {
  const stack: Array<[unknown, string, number]> = [[value, 'body', 0]];
  while (stack.length) {
    const [v, where, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) return `${where}: must not contain a NUL byte`;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) return `${where}: nested deeper than ${MAX_DEPTH} levels`;
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      for (const [k, x] of entries) {
        if (k.includes('\0')) return `${where}: a key must not contain a NUL byte`;
        stack.push([x, `${where}.${k.replace(/\0/g, '\\0')}`, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Express middleware (after the JSON parser) answering such requests 400 in Warden's shape. */
export function rejectBadBytes(req: Request, res: Response, next: NextFunction): void {
  const problem = urlProblem(req.originalUrl ?? req.url) ?? jsonProblem(req.body);
  if (!problem) return next();
  const body = toErrorBody(new WardenError('VALIDATION_FAILED', `invalid request: ${problem}`), req);
  // The registry routes answer in the OCI error shape (distribution spec, "Error Codes").
  if ((req.originalUrl ?? req.url).startsWith('/v2/'))
    res.status(400).json({ errors: [{ code: 'NAME_INVALID', message: body.message, detail: {} }] });
  else res.status(body.statusCode).json(body);
}
