import { z } from 'zod';

/**
 * Network bandwidth caps (issue 16, point 5; Docker has none): a container's egress (what it
 * sends) and ingress (what it receives), in bits per second, applied with `tc` on the host
 * side of its veth (src/network/bandwidth.ts). REST asks with `bandwidth: {egress, ingress}`;
 * the docker CLI, which has no flag for it, with the labels `warden.bandwidth.egress` and
 * `warden.bandwidth.ingress` (the field wins where both are given).
 */
export const BANDWIDTH_LABELS = {
  egress: 'warden.bandwidth.egress',
  ingress: 'warden.bandwidth.ingress',
} as const;

export type BandwidthDirection = keyof typeof BANDWIDTH_LABELS;

const rate = z.union([z.number(), z.string().max(32)], {
  error: 'must be a rate such as 10mbit, 512kbit or 1gbit (bits per second)',
});

export const bandwidthRequestFields = {
  bandwidth: z
    .strictObject({ egress: rate.optional(), ingress: rate.optional() })
    .optional()
    .describe('network rate caps, e.g. {"egress": "10mbit", "ingress": "100mbit"}; tc on the host side'),
};

// tc's tbf cannot shape below a few kbit; above 100 Gbit a cap is a missing unit, not a request.
export const MIN_RATE_BPS = 64_000;
export const MAX_RATE_BPS = 100_000_000_000;

const UNITS: Record<string, number> = {
  '': 1,
  bit: 1,
  k: 1e3,
  kbit: 1e3,
  m: 1e6,
  mbit: 1e6,
  g: 1e9,
  gbit: 1e9,
  // tc's bytes-per-second units
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** `10mbit`, `10m`, `1.5gbit`, `1mbps` (bytes, as tc reads it) or a number of bits/s; undefined when not a rate. */
export function parseRate(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bits = Math.round(Number(m[1]) * unit);
  return bits > 0 ? bits : undefined;
}

export function formatRate(bps: number): string {
  for (const [unit, n] of [
    ['gbit', 1e9],
    ['mbit', 1e6],
    ['kbit', 1e3],
  ] as const)
    if (bps >= n && bps % (n / 1000) === 0) return `${+(bps / n).toFixed(3)}${unit}`;
  return `${bps}bit`;
}

/** A rate's problem as a message naming the field, or the rate in bits/s. */
export function checkRate(field: string, value: string | number, errors: string[]): number | undefined {
  const bps = parseRate(value);
  if (bps === undefined) {
    errors.push(`${field}: ${JSON.stringify(value)} must be a rate such as 10mbit, 512kbit or 1gbit`);
    return undefined;
  }
  if (bps < MIN_RATE_BPS || bps > MAX_RATE_BPS) {
    errors.push(
      `${field}: ${formatRate(bps)} is outside ${formatRate(MIN_RATE_BPS)}..${formatRate(MAX_RATE_BPS)}`,
    );
    return undefined;
  }
  return bps;
}

/** The request's caps (field, else label) into the spec's `egressBps` / `ingressBps`. */
export function convertBandwidth(
  req: {
    bandwidth?: { egress?: string | number; ingress?: string | number };
    labels?: Record<string, string>;
  },
  spec: { egressBps?: number; ingressBps?: number },
  errors: string[],
): void {
  for (const dir of ['egress', 'ingress'] as const) {
    const fromField = req.bandwidth?.[dir];
    const label = BANDWIDTH_LABELS[dir];
    const fromLabel = req.labels?.[label];
    const value = fromField ?? fromLabel;
    if (value === undefined) continue;
    const bps = checkRate(fromField !== undefined ? `bandwidth.${dir}` : `label ${label}`, value, errors);
    if (bps !== undefined) spec[dir === 'egress' ? 'egressBps' : 'ingressBps'] = bps;
  }
}
