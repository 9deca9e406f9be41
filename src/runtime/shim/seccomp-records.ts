import type {
  SeccompAction,
  SeccompArg,
  SeccompFilterCondition,
  SeccompOp,
  SeccompProfile,
} from '../../policy';
import { capabilityBit, isCapabilityName, normalizeCapability } from '../../platform/linux';

/**
 * A seccomp profile (Docker's format) → the shim's `seccomp`/`scarch`/`scrule` records for one
 * process: conditions on capabilities, architecture and kernel are decided here, so the shim
 * only compiles flat rules with libseccomp (native/shim/seccomp.c has the encoding). The
 * semantics follow how Docker's runtime reads a profile: a rule applies when every `includes`
 * condition holds and no `excludes` one does; args with distinct indices are ANDed in one
 * rule, while repeated indices become one rule each (libseccomp cannot AND two conditions on
 * one argument).
 */
export interface SeccompRecords {
  defaultAction: string;
  arches: string[];
  rules: Array<[syscall: string, action: string, conditions: string]>;
}

export interface SeccompTarget {
  /** Effective capability mask of the process (see capabilityMask). */
  caps: bigint;
  /** Node's process.arch. */
  arch: string;
  /** os.release(). */
  kernel: string;
}

// Node's names → Docker's (GOARCH) and libseccomp's native architecture.
const ARCHES: Record<string, { docker: string; scmp: string }> = {
  x64: { docker: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  arm64: { docker: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  ia32: { docker: 'x86', scmp: 'SCMP_ARCH_X86' },
  arm: { docker: 'arm', scmp: 'SCMP_ARCH_ARM' },
  s390x: { docker: 's390x', scmp: 'SCMP_ARCH_S390X' },
  ppc64: { docker: 'ppc64le', scmp: 'SCMP_ARCH_PPC64LE' },
  riscv64: { docker: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
};

const OPS: Record<SeccompOp, string> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'me',
};

const EPERM = 1;

function action(a: SeccompAction, errnoRet: number | undefined): string {
  switch (a) {
    case 'SCMP_ACT_ALLOW':
      return 'allow';
    case 'SCMP_ACT_ERRNO':
      return `errno:${errnoRet ?? EPERM}`;
    case 'SCMP_ACT_TRACE':
      return `trace:${errnoRet ?? EPERM}`;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 'kill_thread';
    case 'SCMP_ACT_KILL_PROCESS':
      return 'kill_process';
    case 'SCMP_ACT_TRAP':
      return 'trap';
    case 'SCMP_ACT_LOG':
      return 'log';
  }
}

/** libseccomp's architecture name: SCMP_ARCH_X86_64 → x86_64. */
const scmpArchName = (a: string): string => a.replace(/^SCMP_ARCH_/, '').toLowerCase();

function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/, 2).map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

function hasCap(caps: bigint, name: string): boolean {
  const cap = normalizeCapability(name);
  // A capability this kernel list does not know is not held.
  return isCapabilityName(cap) && (caps & capabilityBit(cap)) !== 0n;
}

function holds(c: SeccompFilterCondition, t: SeccompTarget, dockerArch: string, all: boolean): boolean {
  const tests: boolean[] = [];
  if (c.caps?.length) tests.push(...c.caps.map((cap) => hasCap(t.caps, cap)));
  if (c.arches?.length) tests.push(c.arches.includes(dockerArch));
  if (c.minKernel) tests.push(kernelAtLeast(t.kernel, c.minKernel));
  return all ? tests.every(Boolean) : tests.some(Boolean);
}

const condition = (a: SeccompArg): string => `${a.index},${OPS[a.op]},${a.value},${a.valueTwo ?? 0}`;

export function seccompRecords(profile: SeccompProfile, target: SeccompTarget): SeccompRecords {
  const arch = ARCHES[target.arch];
  if (!arch) throw new TypeError(`seccomp: architecture '${target.arch}' is not supported`);
  const arches = new Set<string>();
  for (const a of profile.architectures ?? []) if (a !== arch.scmp) arches.add(scmpArchName(a));
  for (const m of profile.archMap ?? [])
    if (m.architecture === arch.scmp) for (const s of m.subArchitectures ?? []) arches.add(scmpArchName(s));

  const defaultAction = action(profile.defaultAction, profile.defaultErrnoRet);
  const rules: SeccompRecords['rules'] = [];
  for (const r of profile.syscalls) {
    if (r.includes && !holds(r.includes, target, arch.docker, true)) continue;
    if (r.excludes && holds(r.excludes, target, arch.docker, false)) continue;
    const act = action(r.action, r.errnoRet);
    // libseccomp refuses a rule that repeats the default action; it would change nothing.
    if (act === defaultAction) continue;
    const args = r.args ?? [];
    const repeated = new Set(args.map((a) => a.index)).size < args.length;
    const conditionSets = repeated ? args.map((a) => [a]) : [args];
    for (const name of r.names)
      for (const set of conditionSets) rules.push([name, act, set.map(condition).join(';')]);
  }
  return { defaultAction, arches: [...arches], rules };
}
