import { z } from 'zod';
import { text } from '../../platform/http';
import type { HealthcheckConfig } from '../container/container';

const UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `30s`, `1m30s`, `500ms` (Go's durations, as `--health-interval` takes them) → nanoseconds. */
export function parseDuration(v: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/.test(v)) return undefined;
  let ns = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)) ns += Number(m[1]) * UNITS[m[2]];
  return Math.round(ns);
}

const duration = (field: string) =>
  z
    .union([z.number().int(), z.string().max(32)])
    .transform((v, ctx) => {
      const ns = typeof v === 'number' ? v : parseDuration(v);
      if (ns === undefined || (ns !== 0 && ns < 1_000_000) || ns > 86_400e9) {
        ctx.addIssue({
          code: 'custom',
          message: `${field} must be a duration such as 30s or 500ms (at least 1ms, at most 24h), or nanoseconds`,
        });
        return z.NEVER;
      }
      return ns;
    })
    .optional();

/**
 * The REST create body's `healthcheck` (`docker run --health-*` in JSON): `test` as Docker's
 * (`["CMD-SHELL", "curl -f localhost"]`, `["CMD", …]`, `["NONE"]`) or a shell command string;
 * durations as `30s` or nanoseconds.
 */
export const healthcheckInputSchema = z
  .strictObject({
    test: z.union([text(131_072), z.array(text(131_072)).min(1).max(4096)]).optional(),
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('startPeriod'),
    startInterval: duration('startInterval'),
    retries: z.number().int().min(0).max(1_000_000).optional(),
  })
  .superRefine((h, ctx) => {
    if (Array.isArray(h.test) && !['NONE', 'CMD', 'CMD-SHELL'].includes(h.test[0]))
      ctx.addIssue({ code: 'custom', path: ['test'], message: 'must begin with NONE, CMD or CMD-SHELL' });
    else if (Array.isArray(h.test) && h.test[0] !== 'NONE' && h.test.length < 2)
      ctx.addIssue({ code: 'custom', path: ['test'], message: `${h.test[0]} needs a command` });
  })
  .describe(
    'health check, as docker run --health-*: {test, interval, timeout, startPeriod, startInterval, retries}',
  );

export function healthcheckFromInput(h: z.infer<typeof healthcheckInputSchema>): HealthcheckConfig {
  const out: HealthcheckConfig = {
    test: h.test === undefined ? [] : typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test,
  };
  for (const k of ['interval', 'timeout', 'startPeriod', 'startInterval', 'retries'] as const)
    if (h[k]) out[k] = h[k];
  return out;
}
