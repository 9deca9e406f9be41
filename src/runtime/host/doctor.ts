import { tmpdir } from 'node:os';
import { createLibcSyscalls } from '../../platform/ffi';
import type {
  DoctorItem,
  DoctorOptions,
  DoctorReport,
  DoctorSummary,
  Probe,
  ProbeContext,
} from './doctor-report';
import { probeCapabilities } from './probes/capabilities.probe';
import { probeCgroups } from './probes/cgroups.probe';
import { probeDiskLimits } from './probes/disk-limits.probe';
import { probeKernel } from './probes/kernel.probe';
import { probeNamespaces } from './probes/namespaces.probe';
import { probeNetwork } from './probes/network.probe';
import { probeOverlay } from './probes/overlay.probe';
import { probePivotRoot } from './probes/pivot-root.probe';
import { probeRlimits } from './probes/rlimits.probe';
import { probeSeccomp } from './probes/seccomp.probe';

export type { DoctorItem, DoctorOptions, DoctorReport, DoctorStatus, DoctorSummary } from './doctor-report';
export { formatDoctorTable } from './doctor-table';

/**
 * In report order. All run at once: each spawned helper lives in its own throwaway
 * namespaces, cgroup probes use uniquely named dirs, and scratch dirs are per probe.
 */
const PROBES: { name: string; run: Probe }[] = [
  { name: 'kernel', run: probeKernel },
  { name: 'namespaces', run: probeNamespaces },
  { name: 'cgroups', run: probeCgroups },
  { name: 'overlay', run: probeOverlay },
  { name: 'disk', run: probeDiskLimits },
  { name: 'pivot_root', run: probePivotRoot },
  { name: 'capabilities', run: probeCapabilities },
  { name: 'rlimits', run: probeRlimits },
  { name: 'seccomp', run: probeSeccomp },
  { name: 'network', run: probeNetwork },
];

// A probe that throws (e.g. libc cannot be loaded) must not hide the others' answers.
async function runProbe(name: string, probe: Probe, ctx: ProbeContext): Promise<DoctorItem[]> {
  try {
    return await probe(ctx);
  } catch (err) {
    return [
      {
        id: `${name}.error`,
        label: name,
        status: 'missing',
        value: `probe failed: ${(err as Error).message}`,
        meaning: `could not check ${name}; Warden treats it as unavailable`,
        required: true,
      },
    ];
  }
}

export function summarize(items: DoctorItem[]): DoctorSummary {
  const blocking = items.filter((i) => i.required && i.status === 'missing');
  return {
    canRunContainers: blocking.length === 0,
    reasons: blocking.map((i) => `${i.label}: ${i.meaning}`),
  };
}

/** What the host offers the runtime, from real probes. Never throws; takes well under 2 s. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const started = process.hrtime.bigint();
  const ctx: ProbeContext = {
    syscalls: opts.syscalls ?? createLibcSyscalls(),
    tmpDir: opts.tmpDir ?? tmpdir(),
    commandTimeoutMs: opts.commandTimeoutMs ?? 5000,
  };
  const items = (await Promise.all(PROBES.map((p) => runProbe(p.name, p.run, ctx)))).flat();
  return {
    generatedAt: new Date().toISOString(),
    durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
    items,
    summary: summarize(items),
  };
}
