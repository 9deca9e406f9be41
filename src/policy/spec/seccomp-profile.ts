import { z } from 'zod';

/**
 * A seccomp profile in Docker's JSON format (what `docker run --security-opt seccomp=<file>`
 * sends, and what moby's profiles/seccomp/default.json is written in). Only the parts Warden
 * applies are accepted; a field that would change behaviour and is not applied (a notify
 * listener, filter flags) is refused by name rather than dropped.
 */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOp = (typeof SECCOMP_OPS)[number];

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export interface SeccompFilterCondition {
  /** Normalized `CAP_X`. */
  caps?: string[];
  /** Docker's architecture names: amd64, x86, x32, arm64, arm, … */
  arches?: string[];
  /** `major.minor`, compared with the running kernel. */
  minKernel?: string;
}

export interface SeccompSyscallRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
  comment?: string;
  includes?: SeccompFilterCondition;
  excludes?: SeccompFilterCondition;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** `SCMP_ARCH_X86_64`, … ; the old form of archMap. */
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }>;
  syscalls: SeccompSyscallRule[];
}

/** Bounds a custom profile: moby's default is ~20 KB of JSON and ~400 names. */
export const MAX_SECCOMP_PROFILE_BYTES = 256 * 1024;

const SYSCALL_NAME_RE = /^[a-z_][a-z0-9_]{0,63}$/;
const ARCH_RE = /^SCMP_ARCH_[A-Z0-9_]{1,24}$/;
const errno = z.number().int().min(0).max(4095);
// Argument values are u64; JSON numbers are exact to 2^53, which covers every flag mask.
const argValue = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const condition = z.strictObject({
  caps: z.array(z.string().max(64)).max(64).optional(),
  arches: z.array(z.string().max(32)).max(32).optional(),
  minKernel: z
    .string()
    .regex(/^\d+\.\d+$/, 'must be major.minor, e.g. 4.8')
    .optional(),
});

const syscallRule = z
  .strictObject({
    names: z.array(z.string().regex(SYSCALL_NAME_RE, 'must be a syscall name')).max(1024).optional(),
    name: z.string().regex(SYSCALL_NAME_RE, 'must be a syscall name').optional(),
    action: z.enum(SECCOMP_ACTIONS, { error: `must be one of ${SECCOMP_ACTIONS.join(', ')}` }),
    errnoRet: errno.optional(),
    args: z
      .array(
        z.strictObject({
          index: z.number().int().min(0).max(5),
          value: argValue,
          valueTwo: argValue.optional(),
          op: z.enum(SECCOMP_OPS, { error: `must be one of ${SECCOMP_OPS.join(', ')}` }),
        }),
      )
      .max(6)
      .nullable()
      .optional(),
    comment: z.string().max(4096).optional(),
    includes: condition.optional(),
    excludes: condition.optional(),
  })
  .refine((r) => (r.names?.length ?? 0) > 0 || r.name !== undefined, 'needs names (or name)');

const profileSchema = z.strictObject({
  defaultAction: z.enum(SECCOMP_ACTIONS, { error: `must be one of ${SECCOMP_ACTIONS.join(', ')}` }),
  defaultErrnoRet: errno.optional(),
  architectures: z.array(z.string().regex(ARCH_RE, 'must be SCMP_ARCH_…')).max(32).nullable().optional(),
  archMap: z
    .array(
      z.strictObject({
        architecture: z.string().regex(ARCH_RE, 'must be SCMP_ARCH_…'),
        subArchitectures: z
          .array(z.string().regex(ARCH_RE, 'must be SCMP_ARCH_…'))
          .max(32)
          .nullable()
          .optional(),
      }),
    )
    .max(32)
    .nullable()
    .optional(),
  flags: z
    .array(z.string())
    .max(0, 'seccomp filter flags are not applied by Warden; leave flags out')
    .nullable()
    .optional(),
  syscalls: z.array(syscallRule).max(4096).nullable().optional(),
});

export type ParseSeccompProfileResult = { ok: true; profile: SeccompProfile } | { ok: false; error: string };

/** A custom profile from its JSON text or parsed object; the error names the field. */
export function parseSeccompProfile(input: unknown): ParseSeccompProfileResult {
  let value = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > MAX_SECCOMP_PROFILE_BYTES)
      return { ok: false, error: `profile is larger than ${MAX_SECCOMP_PROFILE_BYTES / 1024} KiB` };
    try {
      value = JSON.parse(input);
    } catch (err) {
      return { ok: false, error: `profile is not JSON: ${(err as Error).message}` };
    }
  }
  if (value !== null && typeof value === 'object' && 'listenerPath' in value)
    return { ok: false, error: 'listenerPath (SCMP_ACT_NOTIFY) is not supported by Warden' };
  const parsed = profileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue.path.map(String).join('.') || 'profile'}: ${issue.message}` };
  }
  const p = parsed.data;
  const profile: SeccompProfile = {
    defaultAction: p.defaultAction,
    syscalls: (p.syscalls ?? []).map((s) => {
      const rule: SeccompSyscallRule = {
        names: [...(s.names ?? []), ...(s.name ? [s.name] : [])],
        action: s.action,
      };
      if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
      if (s.args?.length) rule.args = s.args;
      if (s.includes) rule.includes = s.includes;
      if (s.excludes) rule.excludes = s.excludes;
      return rule;
    }),
  };
  if (p.defaultErrnoRet !== undefined) profile.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures?.length) profile.architectures = p.architectures;
  if (p.archMap?.length) profile.archMap = p.archMap;
  return { ok: true, profile };
}
