import {
  badJsonValues,
  badParamValues,
  JsonSchema,
  NUL_STRINGS,
  Rng,
  sampleParam,
  sampleValue,
} from './bad-values';
import type { Operation } from './operations';
import type { RawRequest } from './raw-http';

export interface FuzzRequest {
  id: string;
  op: Operation;
  /** What was made bad, e.g. `query.limit=abc` (for the report). */
  mutation: string;
  raw: RawRequest;
}

export interface FuzzContext {
  /** A value that exists for a path parameter (a real container, token, policy, …). */
  fixture(op: Operation, param: string): string;
  token: string;
}

/**
 * Values the documents describe in words (descriptions, custom refinements) that JSON Schema
 * cannot say; the issue's own findings are among them.
 */
const KNOWN_BAD: Record<string, unknown[]> = {
  CpusetCpus: ['0-999', '3-1', '0,,1', 'all'],
  cpusetCpus: ['0-999', '3-1', '0,,1', 'all'],
  User: ['4294967295', '0:4294967295', '2147483648', 'a:b:c', 'root user'],
  user: ['4294967295', '0:4294967295', '2147483648', 'a:b:c', 'root user'],
  WorkingDir: ['relative/dir', 'tmp'],
  workingDir: ['relative/dir', 'tmp'],
  Hostname: ['-bad-', 'a'.repeat(64)],
  hostname: ['-bad-', 'a'.repeat(64)],
  expiresAt: ['2001-01-01T00:00:00Z'],
  memory: ['lots', -1, '9999999999999999999999t'],
  Memory: [-1, 1e300],
  cmd: [['a\u0000b'], [42]],
  Cmd: [['a\u0000b'], [42]],
  labels: [{ 'k\u0000': 'v' }, { k: 'v\u0000' }, { k: 7 }],
  Labels: [{ 'k\u0000': 'v' }, { k: 'v\u0000' }, { k: 7 }],
  env: [['A\u0000=1'], ['=novalue'], [1]],
  Env: [['A=\u0000'], [1]],
  image: ['', 'UPPER/Case', 'a'.repeat(600), 'x@sha256:zz'],
  Image: ['a'.repeat(600), 5],
};

/** Properties of an object body, one level into nested objects (HostConfig.CpusetCpus). */
function fieldsOf(s: JsonSchema): Array<{ path: string[]; schema: JsonSchema }> {
  const out: Array<{ path: string[]; schema: JsonSchema }> = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    out.push({ path: [k], schema: v });
    const inner = v.anyOf?.find((a) => a.properties) ?? (v.properties ? v : undefined);
    for (const [k2, v2] of Object.entries(inner?.properties ?? {})) out.push({ path: [k, k2], schema: v2 });
  }
  return out;
}

function setPath(base: unknown, path: string[], value: unknown): unknown {
  const root = (typeof base === 'object' && base !== null ? { ...base } : {}) as Record<string, unknown>;
  let cur = root;
  path.slice(0, -1).forEach((k) => {
    const next = typeof cur[k] === 'object' && cur[k] !== null ? { ...(cur[k] as object) } : {};
    cur[k] = next;
    cur = next as Record<string, unknown>;
  });
  cur[path[path.length - 1]] = value;
  return root;
}

const show = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return (s.length > 40 ? `${s.slice(0, 40)}…(${s.length})` : s).replace(/\0/g, '\\0');
};

function deepJson(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** `n` requests, each bad in exactly one place, spread evenly over `ops`; same seed, same requests. */
export function generate(ops: Operation[], n: number, seed: number, ctx: FuzzContext): FuzzRequest[] {
  const rng = new Rng(seed);
  const out: FuzzRequest[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i % ops.length];
    const id = `fz-${seed}-${i}`;
    const params: Record<string, string> = {};
    for (const p of op.params) params[p.name] = encodeURIComponent(ctx.fixture(op, p.name));
    const query: Array<[string, string]> = op.query
      .filter((q) => q.required)
      .map((q) => [q.name, sampleParam(q.schema, q.name)]);
    const json = typeof op.body === 'object' ? op.body : undefined;
    let body: unknown = json ? sampleValue(json) : undefined;
    let rawBody: Buffer | undefined;
    let contentType = op.body === 'binary' ? 'application/x-tar' : 'application/json';
    const headers: Array<[string, string]> = [['X-Request-Id', id]];
    let token: string | null = ctx.token;

    const kinds: string[] = ['extra-query'];
    if (op.params.length) kinds.push('path', 'path');
    if (op.query.length) kinds.push('query', 'query', 'query');
    if (json && fieldsOf(json).length) kinds.push('body-field', 'body-field', 'body-field', 'body-field');
    if (json) kinds.push('body-shape', 'body-shape');
    if (op.body === 'binary') kinds.push('binary');
    if (op.surface === 'rest' && !op.public) kinds.push('auth');
    const kind = rng.pick(kinds);
    let mutation = kind;

    switch (kind) {
      case 'path': {
        const p = rng.pick(op.params);
        const v = rng.pick([...badParamValues(p.schema), '..', '%2e%2e%2f']);
        // '..' and friends are only bad where the parameter's pattern says so; keep them where
        // the schema has one, else fall back to a NUL.
        params[p.name] = v === '..' || v === '%2e%2e%2f' ? (p.schema.pattern ? v : '%00') : v;
        mutation = `path.${p.name}=${show(decodeURIComponentSafe(params[p.name]))}`;
        break;
      }
      case 'query': {
        const q = rng.pick(op.query);
        const v = rng.pick(badParamValues(q.schema));
        const at = query.findIndex(([k]) => k === q.name);
        if (at >= 0) query.splice(at, 1);
        query.push([encodeURIComponent(q.name), v]);
        mutation = `query.${q.name}=${show(decodeURIComponentSafe(v))}`;
        break;
      }
      case 'extra-query': {
        const v = rng.pick(['%00', 'x%00y', '%C0%80', '%FF', '%E0%A4%A']);
        query.push([rng.pick(['zz', 'a%00b', 'x']), v]);
        mutation = `extra-query=${v}`;
        break;
      }
      case 'body-field': {
        const f = rng.pick(fieldsOf(json!));
        const leaf = f.path[f.path.length - 1];
        const candidates = [...badJsonValues(f.schema), ...(KNOWN_BAD[leaf] ?? [])];
        const v = candidates.length ? rng.pick(candidates) : rng.pick(NUL_STRINGS);
        body = setPath(body, f.path, v);
        mutation = `body.${f.path.join('.')}=${show(v)}`;
        break;
      }
      case 'body-shape': {
        const shapes: Array<[string, () => string | Buffer]> = [
          ['malformed', () => '{"a": '],
          ['trailing-comma', () => '{"a":1,}'],
          ['number', () => '1'],
          ['string', () => '"s"'],
          ['array', () => '[1,2]'],
          ['nul-key', () => JSON.stringify({ ...(body as object), 'k\u0000': 1 })],
          ['nested-200', () => deepJson(200)],
          ['bad-utf8', () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
        ];
        // Docker reads the body whatever its Content-Type says, and takes `null` for an empty
        // one (Go's decoder does), as Docker does.
        if (op.surface === 'rest')
          shapes.push(['text/plain', () => JSON.stringify(body)], ['null', () => 'null']);
        if (rng.int(100) === 0) shapes.push(['5MiB', () => `{"a":"${'x'.repeat(5 * 1024 * 1024)}"}`]);
        const [name, make] = rng.pick(shapes);
        const made = make();
        rawBody = typeof made === 'string' ? Buffer.from(made) : made;
        if (name === 'text/plain') {
          contentType = 'text/plain';
          // Sent as text, the body is not JSON; only bad where a body is required.
          if (!op.bodyRequired) rawBody = Buffer.from('\u0000');
        }
        mutation = `body=${name}`;
        break;
      }
      case 'binary': {
        const bytes = Buffer.alloc(64 + rng.int(4096));
        for (let b = 0; b < bytes.length; b++) bytes[b] = rng.int(256);
        rawBody = bytes;
        mutation = `body=random-${bytes.length}-bytes`;
        break;
      }
      case 'auth': {
        token = rng.pick([null, 'wdn_not-a-token', 'x'.repeat(300), '']);
        if (token === '') headers.push(['Authorization', 'Basic Zm9vOmJhcg==']);
        mutation = `auth=${token === null ? 'none' : show(token)}`;
        break;
      }
    }

    if (op.surface === 'rest' && token) headers.push(['Authorization', `Bearer ${token}`]);
    if (op.upgrade && rng.int(2) === 0) headers.push(['Connection', 'Upgrade'], ['Upgrade', 'tcp']);
    if (rawBody === undefined && json) rawBody = Buffer.from(JSON.stringify(body ?? {}));
    if (rawBody !== undefined) headers.push(['Content-Type', contentType]);
    const path = op.path.replace(/\{(\w+)\}/g, (_, k: string) => params[k]);
    const qs = query.map(([k, v]) => `${k}=${v}`).join('&');
    out.push({
      id,
      op,
      mutation,
      raw: { method: op.method, target: `${path}${qs ? `?${qs}` : ''}`, headers, body: rawBody },
    });
  }
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
