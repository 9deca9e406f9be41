import type { RlimitResource, RlimitValue } from '../../../platform/ffi';
import type { DoctorItem, ProbeContext } from '../doctor-report';

// A container's rlimits are capped by the service's hard limits: without CAP_SYS_RESOURCE
// (absent on the reference host) setrlimit above them fails, so these are ceilings.
const CHECKS: { resource: RlimitResource; why: string; lowBelow?: bigint }[] = [
  { resource: 'NOFILE', why: 'open files per container process', lowBelow: 4096n },
  { resource: 'NPROC', why: 'processes per uid (the pids cgroup is the real cap)' },
  { resource: 'MEMLOCK', why: 'locked memory (mlock, io_uring rings)' },
];

const show = (v: RlimitValue) => (v === 'unlimited' ? 'unlimited' : v.toString());

export async function probeRlimits({ syscalls }: ProbeContext): Promise<DoctorItem[]> {
  return CHECKS.map(({ resource, why, lowBelow }) => {
    const { soft, hard } = syscalls.getrlimit(resource);
    const low = lowBelow !== undefined && hard !== 'unlimited' && hard < lowBelow;
    return {
      id: `rlimit.${resource}`,
      label: `RLIMIT_${resource}`,
      status: low ? 'warn' : 'ok',
      value: `soft ${show(soft)} / hard ${show(hard)}`,
      meaning: `${why}: containers may ask for at most ${show(hard)}${low ? ' (low for servers)' : ''}`,
      required: false,
      detail: { soft: show(soft), hard: show(hard) },
    };
  });
}
