import { readFile } from 'node:fs/promises';
import type { DoctorItem, ProbeContext } from '../doctor-report';

// Informational: Warden does not yet install a seccomp profile, but whether the kernel offers
// filters, and whether the service is itself filtered (e.g. by a parent container engine),
// explains otherwise puzzling EPERMs from the other probes.
export async function probeSeccomp(_ctx: ProbeContext): Promise<DoctorItem[]> {
  const actions = await readFile('/proc/sys/kernel/seccomp/actions_avail', 'utf8').catch(() => '');
  const status = await readFile('/proc/self/status', 'utf8');
  const mode = /^Seccomp:\s*(\d)/m.exec(status)?.[1] ?? '?';
  const self = { '0': 'not filtered', '1': 'strict', '2': 'filtered' }[mode] ?? 'unknown';
  return [
    {
      id: 'seccomp',
      label: 'seccomp',
      status: actions ? (mode === '0' ? 'ok' : 'warn') : 'warn',
      value: `${actions ? 'filters available' : 'no filters'}; service ${self}`,
      meaning: actions
        ? mode === '0'
          ? 'kernel supports seccomp filters; the service itself is unrestricted'
          : 'the service runs under a seccomp filter: some probes may fail with EPERM because of it'
        : 'kernel without seccomp filters: containers cannot be syscall-filtered',
      required: false,
      detail: { actionsAvailable: actions.trim().split(/\s+/).filter(Boolean), selfMode: mode },
    },
  ];
}
