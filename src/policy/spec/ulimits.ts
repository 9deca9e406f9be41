import { z } from 'zod';

/**
 * Per-container resource limits (`docker run --ulimit name=soft[:hard]`), set by the shim with
 * setrlimit before execve, for the init and exec'd processes. -1 is Docker's "unlimited". The
 * shim never raises a hard limit above Warden's own, so a request can lower limits freely;
 * how high it may go is the policy's `ulimits.max`.
 */
export const ULIMIT_NAMES = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
] as const;
export type UlimitName = (typeof ULIMIT_NAMES)[number];

export interface Ulimit {
  name: UlimitName;
  /** -1 = unlimited */
  soft: number;
  hard: number;
}

const limit = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
export const ulimitInputSchema = z.union(
  [z.string().max(128), z.strictObject({ name: z.string().max(32), soft: limit, hard: limit.optional() })],
  { error: 'must be "name=soft[:hard]" or {name, soft, hard}' },
);
export type UlimitInput = z.infer<typeof ulimitInputSchema>;

const isName = (n: string): n is UlimitName => (ULIMIT_NAMES as readonly string[]).includes(n);
const ULIMIT_RE = /^([a-z]+)=(-1|\d+)(?::(-1|\d+))?$/;

/** One ulimit, or what is wrong with it. */
export function parseUlimit(input: UlimitInput): Ulimit | string {
  let name: string, soft: number, hard: number;
  if (typeof input === 'string') {
    const m = ULIMIT_RE.exec(input);
    if (!m) return `${JSON.stringify(input)} must be name=soft[:hard], e.g. nofile=1024:4096`;
    [name, soft, hard] = [m[1], Number(m[2]), Number(m[3] ?? m[2])];
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) return `${input}: number too large`;
  } else {
    [name, soft, hard] = [input.name, input.soft, input.hard ?? input.soft];
  }
  if (!isName(name)) return `unknown ulimit ${JSON.stringify(name)} (known: ${ULIMIT_NAMES.join(', ')})`;
  if (hard !== -1 && (soft === -1 || soft > hard))
    return `${name}: soft limit ${soft === -1 ? 'unlimited' : soft} is above the hard limit ${hard}`;
  return { name, soft, hard };
}
