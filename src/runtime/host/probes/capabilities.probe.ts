import type { DoctorItem, ProbeContext } from '../doctor-report';
import {
  CAPABILITIES,
  CapabilityName,
  DOCKER_DEFAULT_CAPABILITIES,
  hasCapability,
} from '../../../platform/linux';

interface CapabilityCheck {
  name: CapabilityName;
  /** Containers cannot run without it; otherwise only a feature is lost. */
  required: boolean;
  present: string;
  absent: string;
}

const CHECKS: CapabilityCheck[] = [
  {
    name: 'CAP_SYS_ADMIN',
    required: true,
    present: 'namespaces, mounts and pivot_root for the shim',
    absent: 'no namespaces or mounts: containers cannot start',
  },
  {
    name: 'CAP_NET_ADMIN',
    required: false,
    present: 'container network namespaces can be configured (loopback up)',
    absent: 'network namespaces cannot be configured: containers get no loopback',
  },
  {
    name: 'CAP_SYS_RESOURCE',
    required: false,
    present: 'rlimits above the service hard limit could be granted',
    absent: 'Warden never asks for an rlimit above its own hard limit',
  },
  {
    name: 'CAP_SETUID',
    required: true,
    present: "the shim can switch to the image's user",
    absent: "cannot switch to the image's user: containers would run as the service's uid",
  },
  {
    name: 'CAP_SETGID',
    required: true,
    present: "the shim can switch to the image's group",
    absent: "cannot switch to the image's group",
  },
  {
    name: 'CAP_MKNOD',
    required: false,
    present: '/dev nodes (null, zero, random, tty…) are created in each container',
    absent: 'cannot create /dev nodes: container /dev must be bind-mounted from the host',
  },
  {
    name: 'CAP_SYS_CHROOT',
    required: false,
    present: 'containers may chroot (Docker default)',
    absent: 'containers cannot be given CAP_SYS_CHROOT',
  },
  {
    name: 'CAP_KILL',
    required: false,
    present: 'containers running as other uids can be signalled',
    absent: 'cannot signal containers that run as another uid',
  },
];

const hex = (mask: bigint) => `0x${mask.toString(16).padStart(16, '0')}`;

export async function probeCapabilities({ syscalls }: ProbeContext): Promise<DoctorItem[]> {
  const caps = syscalls.capabilities();
  const items: DoctorItem[] = CHECKS.map((c) => {
    const has = hasCapability(caps.effective, c.name);
    return {
      id: `capability.${c.name}`,
      label: c.name,
      status: has ? 'ok' : 'missing',
      required: c.required,
      value: has
        ? 'effective'
        : hasCapability(caps.bounding, c.name)
          ? 'not effective (in bounding set)'
          : 'missing',
      meaning: has ? c.present : `${c.name} missing: ${c.absent}`,
    };
  });
  // A container can only be given what is in our bounding set, and Docker users expect its
  // default set; anything absent here is silently missing in every container.
  const lacking = DOCKER_DEFAULT_CAPABILITIES.filter((c) => !hasCapability(caps.bounding, c));
  items.push({
    id: 'capability.docker-default',
    label: 'Docker default caps',
    status: lacking.length ? 'warn' : 'ok',
    value: lacking.length
      ? `lacking ${lacking.join(' ')}`
      : `all ${DOCKER_DEFAULT_CAPABILITIES.length} in bounding set`,
    meaning: lacking.length
      ? 'containers cannot receive these default capabilities: some images may misbehave'
      : 'containers get the same default capabilities as under Docker',
    required: false,
  });
  const named = (mask: bigint) => CAPABILITIES.filter((c) => hasCapability(mask, c));
  items.push({
    id: 'capability.sets',
    label: 'capability sets',
    status: 'ok',
    value: `eff ${hex(caps.effective)} bnd ${hex(caps.bounding)}`,
    meaning: 'raw masks (bit n = capability n), for comparison with /proc/<pid>/status',
    required: false,
    detail: {
      effective: hex(caps.effective),
      permitted: hex(caps.permitted),
      inheritable: hex(caps.inheritable),
      bounding: hex(caps.bounding),
      effectiveNames: named(caps.effective),
      missingFromEffective: CAPABILITIES.filter((c) => !hasCapability(caps.effective, c)),
    },
  });
  return items;
}
