import * as fs from 'node:fs';
import * as os from 'node:os';
import { z } from 'zod';

/**
 * Field schemas every edge shares (REST bodies, queries and path parameters, the Docker
 * socket's routes). Text never carries a NUL byte: PostgreSQL refuses it in text and JSON
 * (SQLSTATE 22P05/22021), and C strings end at it, so it is refused where it arrives.
 */
export const NUL_MESSAGE = 'must not contain a NUL byte';
export const hasNul = (s: string) => s.includes('\0');

/** A string of at most `max` characters and no NUL byte. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    .refine((s) => !hasNul(s), NUL_MESSAGE);

/** An absolute path (`/…`), no NUL, at most 4096 bytes (PATH_MAX). */
export const absolutePath = (what = 'path') =>
  text(4096).refine((s) => s.startsWith('/'), `${what} must be an absolute path (start with /)`);

/** A container's id (or a unique prefix of it) or its name, with or without the leading '/'. */
export const CONTAINER_REF_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const containerRef = z
  .string()
  .regex(
    CONTAINER_REF_RE,
    'must be a container id, id prefix or name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128)',
  );

/** An image reference as a path parameter: printable, no spaces, at most 512 characters. */
export const imageRefParam = z
  .string()
  .min(1)
  .max(512, 'at most 512 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be an image reference (printable characters, no spaces)');

// uid_t is 32 bits, but the kernel reserves (uid_t)-1 and ids above 2^31-1 break setuid
// callers and user namespaces that map them: Warden takes 0 … 2^31-1, as Docker's runc does.
export const MAX_ID = 2 ** 31 - 1;
const USER_PART = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*)$/;

/** `user`, `uid`, `user:group`, `uid:gid`; numeric ids at most 2^31-1. */
export function userProblem(u: string): string | undefined {
  if (u.length > 256) return 'at most 256 characters';
  const parts = u.split(':');
  if (parts.length > 2 || parts.some((p) => !USER_PART.test(p)))
    return 'must be a name or uid, optionally :group or :gid';
  for (const p of parts)
    if (/^\d+$/.test(p) && Number(p) > MAX_ID) return `id ${p} is above the maximum ${MAX_ID}`;
  return undefined;
}

/** The CPUs this host has online (`/sys/devices/system/cpu/online`), read once. */
let online: number[] | undefined;
export function hostCpus(): number[] {
  if (online) return online;
  try {
    online = parseCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  } catch {
    online = undefined;
  }
  online ??= os.cpus().map((_, i) => i);
  return online;
}

/** `0-3,6` → [0,1,2,3,6]; undefined when it is not a CPU list. Ranges are capped at 8192 CPUs. */
export function parseCpuList(list: string): number[] | undefined {
  if (!/^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/.test(list)) return undefined;
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    if (lo > hi || hi >= 8192) return undefined;
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

/** Why a cpuset cannot be used on this host, or undefined when it can. */
export function cpusetProblem(list: string): string | undefined {
  const cpus = parseCpuList(list);
  if (!cpus) return 'must be CPU numbers and ranges such as 0-3,6';
  const host = new Set(hostCpus());
  const missing = cpus.filter((c) => !host.has(c));
  if (missing.length)
    return `CPU ${missing[0]} is not online on this host (online: ${[...host].join(',') || 'none'})`;
  return undefined;
}

/**
 * A whole number in a query or path: decimal digits only. `z.coerce.number()` would also take
 * `0x10`, `1e3`, ` 7 ` and '' (as 0), none of which a client means as a count.
 */
export const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,16}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A query boolean: true/false/1/0. */
export const boolParam = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
