import { WardenError } from '../platform/errors';

/**
 * Docker's `filters` query parameter: JSON, either `{"label": ["a=b"]}` or the older
 * `{"label": {"a=b": true}}` (which the CLI still sends). Values of one key are alternatives
 * (OR); different keys must all hold (AND).
 */
export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null, allowed: readonly string[]): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new WardenError('VALIDATION_FAILED', `filters is not JSON: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new WardenError('VALIDATION_FAILED', 'filters must be a JSON object of key → values');
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(key))
      throw new WardenError(
        'VALIDATION_FAILED',
        `invalid filter '${key}': Warden supports ${allowed.join(', ')}`,
      );
    const values = Array.isArray(value)
      ? value.map(String)
      : typeof value === 'object' && value !== null
        ? Object.entries(value as Record<string, unknown>)
            .filter(([, on]) => on !== false)
            .map(([v]) => v)
        : undefined;
    if (!values) throw new WardenError('VALIDATION_FAILED', `filter '${key}' must be a list of values`);
    if (values.length) out.set(key, values);
  }
  return out;
}

/** `label=k` (any value of k) → [k, undefined]; `label=k=v` (exactly v) → [k, v]. */
export function labelPair(wanted: string): [string, string | undefined] {
  const eq = wanted.indexOf('=');
  return eq < 0 ? [wanted, undefined] : [wanted.slice(0, eq), wanted.slice(eq + 1)];
}

/** `label=k` matches any value of k; `label=k=v` matches exactly (events and images, filtered in memory). */
export function labelMatches(labels: Record<string, string>, wanted: string): boolean {
  const [k, v] = labelPair(wanted);
  if (v === undefined) return Object.prototype.hasOwnProperty.call(labels, k);
  return labels[k] === v;
}

/** Docker ANDs label filters (every one must hold); other keys are alternatives. */
export function matchesLabels(labels: Record<string, string>, filters: Filters): boolean {
  return (filters.get('label') ?? []).every((l) => labelMatches(labels, l));
}

export function matchesAny(filters: Filters, key: string, test: (value: string) => boolean): boolean {
  const values = filters.get(key);
  return !values || values.some(test);
}

/** Docker's `until`: unix seconds, an RFC 3339 time, or a duration before now (10m, 24h). */
export function untilDate(v: string): Date {
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d) return new Date(Date.now() - Number(d[1]) * { s: 1e3, m: 6e4, h: 3.6e6 }[d[2] as 's' | 'm' | 'h']);
  if (/^\d+(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new WardenError(
      'VALIDATION_FAILED',
      `invalid filter 'until=${v}': use a time or a duration such as 24h`,
    );
  return new Date(t);
}
