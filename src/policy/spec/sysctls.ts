/**
 * Sysctls a container may set (`docker run --sysctl`, issue 14): only those the kernel keeps
 * per namespace, so the container's value never becomes the host's. The list is Docker's
 * (moby's `opts.ValidateSysctl`): the IPC namespace's kernel.msg*, kernel.sem, kernel.shm*
 * and fs.mqueue.*, and the network namespace's net.*. A net.* sysctl needs the container's
 * own network namespace and an IPC one its own IPC namespace: with the host's (or another
 * container's) the write would change theirs.
 */
export type SysctlNamespace = 'ipc' | 'net';

const IPC_NAMES = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Dotted, letters/digits/'_'/'-' between the dots (an interface name may carry '-'). */
const NAME_RE = /^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+$/;

export function sysctlNamespace(name: string): SysctlNamespace | undefined {
  if (IPC_NAMES.has(name) || name.startsWith('fs.mqueue.')) return 'ipc';
  if (name.startsWith('net.')) return 'net';
  return undefined;
}

/** The problems of a request's sysctls, each naming the sysctl; none when all may be applied. */
export function sysctlProblems(
  sysctls: Record<string, string>,
  ns: { networkMode: string; hostNet: boolean; hostIpc: boolean },
): string[] {
  const out: string[] = [];
  const sharedNet = ns.hostNet || ns.networkMode === 'host' || ns.networkMode.startsWith('container:');
  for (const [name, value] of Object.entries(sysctls)) {
    const at = `sysctls.${name}`;
    if (!NAME_RE.test(name) || name.length > 256) {
      out.push(`${at}: ${JSON.stringify(name)} is not a sysctl name`);
      continue;
    }
    if (/[\0\n]/.test(value) || value.length > 4096)
      out.push(`${at}: the value must be one line of at most 4096 characters`);
    const kind = sysctlNamespace(name);
    if (!kind)
      out.push(
        `${at}: not a namespaced sysctl, so setting it would change the host's; only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* can be set`,
      );
    else if (kind === 'net' && sharedNet)
      out.push(
        `${at}: a net.* sysctl needs the container's own network namespace (network ${ns.networkMode})`,
      );
    else if (kind === 'ipc' && ns.hostIpc)
      out.push(`${at}: an IPC sysctl needs the container's own IPC namespace`);
  }
  return out;
}

/** Whether a name is matched by an allowlist entry: the exact name, or `prefix.*`. */
export function sysctlAllowed(name: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith('.*') ? name.startsWith(a.slice(0, -1)) : a === name));
}
