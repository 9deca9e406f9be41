import { z } from 'zod';
import { intParam, text } from '../platform/http';

const DAY_MS = 86_400_000;
/** The longest window one request may aggregate: a year and a bit, for annual reviews. */
export const MAX_WINDOW_DAYS = 400;

const time = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with offset' });

function ordered(w: { from?: string; to?: string }, ctx: z.RefinementCtx): void {
  if (!w.from || !w.to) return;
  const span = Date.parse(w.to) - Date.parse(w.from);
  if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if (span > MAX_WINDOW_DAYS * DAY_MS)
    ctx.addIssue({ code: 'custom', path: ['to'], message: `window must be at most ${MAX_WINDOW_DAYS} days` });
}

export const overviewQuery = z
  .object({
    from: time.optional().describe('start of the window (default: 24 hours before to)'),
    to: time.optional().describe('end of the window, exclusive (default: now)'),
    expiringDays: intParam(1, 365).default(7).describe('exceptions expiring within this many days'),
  })
  .superRefine(ordered);

/** A window resolved against now; at most ~60 bars, each a round width. */
export function resolveWindow(q: { from?: string; to?: string }, now = Date.now()) {
  const to = q.to ? new Date(q.to) : new Date(now);
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DAY_MS);
  const span = (to.getTime() - from.getTime()) / 1000;
  const widths = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400];
  const bucketSeconds = widths.find((s) => span / s <= 60) ?? 7 * 86_400;
  return { from, to, bucketSeconds };
}

export const containersQuery = z.object({
  state: z
    .enum(['created', 'running', 'exited', 'dead', 'removed'])
    .optional()
    .describe('removed: containers whose row is gone, rebuilt from the trail'),
  q: text(256).min(1).optional().describe('part of the name, image or id'),
  team: text(128).min(1).optional().describe("the container's team label"),
  limit: intParam(1, 10_000).default(500),
});

export const usageQuery = z
  .object({
    from: time.optional().describe('start of the window (default: 7 days before to)'),
    to: time.optional().describe('end of the window, exclusive (default: now)'),
    by: z
      .string()
      .regex(/^(team|image|label:[\w./-]{1,128})$/, 'must be team, image or label:<key>')
      .default('team'),
    format: z.enum(['json', 'csv']).default('json').describe('csv: one row per container, with its group'),
  })
  .superRefine(ordered);
