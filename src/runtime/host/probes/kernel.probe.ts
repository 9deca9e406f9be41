import type { DoctorItem, ProbeContext } from '../doctor-report';

// pidfd_open arrived in 5.3 and waitid(P_PIDFD) in 5.4; the runtime's exit watching needs both.
const PIDFD_KERNEL: [number, number] = [5, 4];

function kernelAtLeast(release: string, [major, minor]: [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

export async function probeKernel({ syscalls }: ProbeContext): Promise<DoctorItem[]> {
  const u = syscalls.uname();
  const recent = kernelAtLeast(u.release, PIDFD_KERNEL);
  const items: DoctorItem[] = [
    {
      id: 'kernel',
      label: 'kernel',
      status: u.sysname === 'Linux' && recent ? 'ok' : 'missing',
      value: `${u.sysname} ${u.release} ${u.machine}`,
      meaning: recent
        ? 'kernel has pidfds (>= 5.4): exits are watched without pid-reuse races'
        : 'kernel older than 5.4: no waitid(P_PIDFD), Warden cannot watch container exits safely',
      required: true,
      detail: { sysname: u.sysname, release: u.release, version: u.version, machine: u.machine },
    },
  ];

  // Not just the version: seccomp or a container sandbox may still refuse pidfd_open.
  let pidfd: DoctorItem;
  try {
    syscalls.close(syscalls.pidfdOpen(process.pid));
    pidfd = {
      id: 'pidfd',
      label: 'pidfd_open',
      status: 'ok',
      value: 'works',
      meaning: 'container processes are signalled and reaped through pidfds',
      required: true,
    };
  } catch (err) {
    pidfd = {
      id: 'pidfd',
      label: 'pidfd_open',
      status: 'missing',
      value: (err as Error).message,
      meaning: 'pidfd_open refused: Warden cannot signal or reap containers safely',
      required: true,
    };
  }
  items.push(pidfd);

  const euid = process.geteuid?.() ?? -1;
  items.push({
    id: 'root',
    label: 'running as root',
    status: euid === 0 ? 'ok' : 'missing',
    value: `euid ${euid}`,
    meaning:
      euid === 0
        ? 'rootful runtime: namespaces, cgroups, mounts and pivot_root are available to the shim'
        : 'not root: Warden runs rootful only; start it as root (or privileged in a container)',
    required: true,
    detail: { euid },
  });
  return items;
}
