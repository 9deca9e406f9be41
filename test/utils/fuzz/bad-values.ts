/**
 * Values a JSON Schema (as the OpenAPI document and the Docker route table declare them) does
 * NOT admit, and values it does, for building requests that are bad in exactly one place.
 * Every bad value is bad by the schema itself — a wrong type, a NUL byte, beyond a length or
 * range, outside an enum — so a server that accepts it does not do what it documents.
 */
export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  $ref?: string;
  description?: string;
};

/** A seeded PRNG (mulberry32): the same seed gives the same requests. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

const alternatives = (s: JsonSchema): JsonSchema[] | undefined => s.anyOf ?? s.oneOf;

function typesOf(s: JsonSchema): string[] {
  const alt = alternatives(s);
  if (alt) return alt.flatMap(typesOf);
  if (s.enum) return [...new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)))];
  if (s.const !== undefined) return [typeof s.const];
  if (s.type) return Array.isArray(s.type) ? s.type : [s.type];
  if (s.properties) return ['object'];
  return []; // unconstrained: anything goes
}

const jsonType = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

const admitsType = (types: string[], v: unknown) => {
  const t = jsonType(v);
  return types.includes(t) || (t === 'integer' && types.includes('number'));
};

/** Strings every field must refuse: Warden takes no NUL byte anywhere. */
export const NUL_STRINGS = ['\u0000', 'a\u0000b', 'x\u0000'.repeat(3)];

/** Bad JSON values for a body field with schema `s`. */
export function badJsonValues(s: JsonSchema): unknown[] {
  const types = typesOf(s);
  const out: unknown[] = [];
  if (types.length === 0) return [...NUL_STRINGS]; // unconstrained: only a NUL byte is bad
  for (const v of [42, 1.5, true, null, 'str', [], {}, ['x'], { k: 'v' }, [1, 2]])
    if (!admitsType(types, v)) out.push(v);
  if (types.includes('string') && !s.enum && !alternatives(s)?.some((a) => !a.type || a.type !== 'string'))
    out.push(...NUL_STRINGS);
  if (s.enum && types.length === 1 && types[0] === 'string') out.push('not-one-of-them', 'NUL\u0000');
  if (s.maxLength !== undefined) out.push('y'.repeat(s.maxLength + 1));
  if (s.format === 'date-time') out.push('not-a-date', '2024-13-45T99:99:99Z');
  if (s.pattern && !new RegExp(s.pattern, 'u').test('!! bad ~')) out.push('!! bad ~');
  if (s.minLength !== undefined && s.minLength > 0) out.push('');
  const numeric = types.includes('integer') || types.includes('number');
  if (numeric && !types.includes('string')) {
    if (s.maximum !== undefined) out.push(s.maximum + 1, 1e300);
    if (s.minimum !== undefined) out.push(s.minimum - 1, -1e300);
    if (types.includes('integer') && !types.includes('number')) out.push(2.5);
  }
  if (types.includes('array') && s.items) {
    const bad = badJsonValues(s.items);
    if (bad.length) out.push([bad[0]]);
    if (s.maxItems !== undefined)
      out.push(Array.from({ length: s.maxItems + 1 }, () => sampleValue(s.items!)));
  }
  if (types.includes('object') && s.properties && s.additionalProperties === false)
    out.push({ ...(sampleValue(s) as object), notAField: 1 });
  return out;
}

/** Bad wire strings for a query or path parameter with schema `s` (URL-encoded here). */
export function badParamValues(s: JsonSchema): string[] {
  const out = ['%00', 'a%00b', '%E2%80%AE%00'];
  const types = typesOf(s);
  const stringy = types.length === 0 || types.includes('string');
  if (s.enum) out.push('not-one-of-them');
  if (!stringy && (types.includes('integer') || types.includes('number'))) {
    out.push('abc', '1e999', '0x10', '99999999999999999999999');
    if (s.maximum !== undefined) out.push(String(s.maximum + 1));
    if (s.minimum !== undefined) out.push(String(s.minimum - 1));
    if (types.includes('integer')) out.push('2.5');
  }
  if (!stringy && types.includes('boolean')) out.push('maybe', '2');
  if (s.pattern && !new RegExp(s.pattern, 'u').test('!! bad ~')) out.push('!!%20bad%20~');
  if (s.format === 'date-time') out.push('not-a-date');
  // Over any length a query or path value should have (under Node's 16 KiB header limit).
  if ((s.maxLength ?? 0) < 9000)
    out.push(s.maxLength !== undefined ? 'q'.repeat(s.maxLength + 1) : 'q'.repeat(9000));
  return out;
}

const FUTURE = new Date(Date.now() + 7 * 86_400_000).toISOString();
const PAST = new Date(Date.now() - 86_400_000).toISOString();

/** A value the schema admits (best effort: formats, enums, bounds), for the good parts of a request. */
export function sampleValue(s: JsonSchema, name = ''): unknown {
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const alt = alternatives(s);
  if (alt) return sampleValue(alt[0], name);
  const [type] = typesOf(s);
  switch (type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const k of s.required ?? []) o[k] = sampleValue(s.properties?.[k] ?? {}, k);
      return o;
    }
    case 'array':
      return s.minItems ? Array.from({ length: s.minItems }, () => sampleValue(s.items ?? {}, name)) : [];
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, Math.min(s.maximum ?? 1, 1));
    case 'boolean':
      return false;
    case 'string':
      if (s.format === 'date-time') return /from|since/i.test(name) ? PAST : FUTURE;
      if (/image|reference/i.test(name)) return 'busybox:1.35';
      return 'fz';
    default:
      return 'fz';
  }
}

/** A wire value the parameter admits (for the parts of a request not being made bad). */
export function sampleParam(s: JsonSchema, name = ''): string {
  const v = sampleValue(s, name);
  return encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v));
}
