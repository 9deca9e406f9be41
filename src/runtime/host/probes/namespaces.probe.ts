import type { DoctorItem, ProbeContext } from '../doctor-report';
import { lastLine, runCommand } from './run-command';

export const NAMESPACE_KINDS = ['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup', 'user', 'time'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

/** The shim clones into these for every container (DESIGN.md, "The runtime"). */
export const REQUIRED_NAMESPACES: readonly NamespaceKind[] = ['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'];

const WHY: Record<NamespaceKind, string> = {
  pid: 'containers see only their own processes; their init is pid 1',
  mount: 'each container gets its own overlay rootfs, /proc and /dev',
  uts: 'each container has its own hostname',
  ipc: 'SysV IPC and POSIX queues are private to each container',
  net: 'containers get their own network stack (no host network)',
  cgroup: 'containers see their own cgroup as the root of /sys/fs/cgroup',
  user: 'not used: Warden is rootful; only rootless mode would need it',
  time: 'not used: containers share the host clocks',
};

/**
 * Each kind is actually tried: unshare(1) is single-threaded, so unlike the Node process
 * (see DESIGN.md) it can unshare every kind, exactly as the shim will. pid and time only take
 * effect for children, hence --fork so the new namespace is really entered.
 */
async function probeOne(kind: NamespaceKind, timeoutMs: number): Promise<DoctorItem> {
  const fork = kind === 'pid' || kind === 'time' ? ['--fork'] : [];
  const r = await runCommand(['unshare', `--${kind}`, ...fork, 'true'], timeoutMs);
  const required = REQUIRED_NAMESPACES.includes(kind);
  const ok = r.code === 0;
  return {
    id: `namespace.${kind}`,
    label: `${kind} namespace`,
    status: ok ? 'ok' : 'missing',
    required,
    value: ok ? 'unshare works' : lastLine(r.stderr) || `unshare exit ${r.code}`,
    meaning: ok || !required ? WHY[kind] : `cannot create ${kind} namespaces: containers cannot start`,
    detail: { exitCode: r.code },
  };
}

export function probeNamespaces({ commandTimeoutMs }: ProbeContext): Promise<DoctorItem[]> {
  return Promise.all(NAMESPACE_KINDS.map((k) => probeOne(k, commandTimeoutMs)));
}
