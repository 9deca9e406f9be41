import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Syscalls } from '../../platform/ffi/syscalls';
import { createLibcSyscalls } from '../../platform/ffi/libc';
import { DoctorItem, DoctorReport, formatDoctorTable, runDoctor, summarize } from './doctor';

/**
 * Real probes on the reference host. Development and CI machines are the same kind:
 * Debian 12, kernel 6.x, running as root, cgroups v1 in hybrid layout (memory, cpu, pids …
 * each on its own v1 mount plus an empty /sys/fs/cgroup/unified), overlayfs available, and
 * CAP_SYS_RESOURCE absent from the bounding set. On a pure-v2 host the cgroup assertions
 * below are expected to fail: they describe this host, not every host.
 */
describe('runDoctor on the reference host (Debian 12, root, cgroup v1 hybrid, no CAP_SYS_RESOURCE)', () => {
  let report: DoctorReport;
  const item = (id: string): DoctorItem => {
    const found = report.items.find((i) => i.id === id);
    if (!found) throw new Error(`no doctor item ${id}; have ${report.items.map((i) => i.id).join(', ')}`);
    return found;
  };
  const scratch = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`warden-doctor-${process.pid}-`));

  let scratchBefore: string[];
  beforeAll(async () => {
    scratchBefore = scratch();
    report = await runDoctor();
  }, 10_000);

  it('runs as root', () => {
    expect(item('root')).toMatchObject({ status: 'ok', value: 'euid 0' });
  });

  it('reports the kernel from uname and a working pidfd_open', () => {
    expect(item('kernel').value).toMatch(/^Linux \d+\.\d+/);
    expect(item('kernel').status).toBe('ok');
    expect(item('pidfd').status).toBe('ok');
  });

  it.each(['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'])('can create %s namespaces (required)', (kind) => {
    expect(item(`namespace.${kind}`)).toMatchObject({ status: 'ok', required: true });
  });

  it('tries user and time namespaces too, but does not require them', () => {
    expect(item('namespace.user').required).toBe(false);
    expect(item('namespace.time').required).toBe(false);
  });

  it('sees cgroups in hybrid mode and picks the v1 driver', () => {
    expect(item('cgroup.mode')).toMatchObject({
      status: 'ok',
      value: 'hybrid',
      meaning: 'cgroup hybrid: v1 driver used; memory, cpu, pids limits enforced',
    });
  });

  it('finds netavark at the version the network code is tested against, and aardvark-dns', () => {
    expect(item('network.netavark')).toMatchObject({
      status: 'ok',
      value: 'netavark 1.4.0',
      required: false,
    });
    expect(item('network.aardvark-dns')).toMatchObject({ status: 'ok', required: false });
  });

  it.each(['memory', 'cpu', 'pids'])('can create and remove a cgroup in the v1 %s hierarchy', (c) => {
    expect(item(`cgroup.v1.${c}`)).toMatchObject({ status: 'ok', required: true });
    expect(item(`cgroup.v1.${c}`).value).toMatch(new RegExp(`^usable at /sys/fs/cgroup/${c}`));
  });

  it('reports the v2 tree of the hybrid layout as not used for limits', () => {
    expect(item('cgroup.v2')).toMatchObject({ required: false });
    expect(item('cgroup.v2').value).toMatch(/^\/sys\/fs\/cgroup\/unified: /);
  });

  it('mounts an overlay (lower read through, write lands in upper)', () => {
    expect(item('overlay')).toMatchObject({
      status: 'ok',
      detail: { inProcFilesystems: true, upperWritten: true },
    });
  });

  it('pivots into a tmpfs root in a private mount namespace', () => {
    expect(item('pivot_root').status).toBe('ok');
  });

  it('shows CAP_SYS_RESOURCE as missing, with what that means, without blocking containers', () => {
    expect(item('capability.CAP_SYS_RESOURCE')).toMatchObject({
      status: 'missing',
      required: false,
      meaning: 'CAP_SYS_RESOURCE missing: Warden never asks for an rlimit above its own hard limit',
    });
    expect(item('capability.CAP_SYS_ADMIN').status).toBe('ok');
  });

  it('reports NOFILE, NPROC and MEMLOCK soft/hard limits', () => {
    for (const r of ['NOFILE', 'NPROC', 'MEMLOCK']) {
      expect(item(`rlimit.${r}`).value).toMatch(/^soft (\d+|unlimited) \/ hard (\d+|unlimited)$/);
    }
  });

  it('concludes that containers can run, quickly, and leaves no scratch dirs behind', () => {
    expect(report.summary).toEqual({ canRunContainers: true, reasons: [] });
    expect(report.durationMs).toBeLessThan(2000);
    expect(scratch()).toEqual(scratchBefore);
  });

  it('serialises with plain JSON.stringify (no bigints in the report)', () => {
    const json = JSON.parse(JSON.stringify(report, null, 2)) as DoctorReport;
    expect(json.items.length).toBe(report.items.length);
    expect(json.items.find((i) => i.id === 'capability.sets')?.detail?.bounding).toMatch(/^0x[0-9a-f]{16}$/);
  });
});

describe('runDoctor with a substituted Syscalls', () => {
  it('turns a failing probe into a missing required item instead of throwing', async () => {
    const real = createLibcSyscalls();
    const broken: Syscalls = {
      ...real,
      capabilities: () => {
        throw new Error('capget: EPERM (1)');
      },
    };
    const report = await runDoctor({ syscalls: broken });
    expect(report.items.find((i) => i.id === 'capabilities.error')).toMatchObject({
      status: 'missing',
      value: 'probe failed: capget: EPERM (1)',
    });
    expect(report.summary.canRunContainers).toBe(false);
  });
});

describe('summarize', () => {
  const base = { value: 'v', meaning: 'm' };
  it('blocks only on missing required items', () => {
    expect(
      summarize([
        { ...base, id: 'a', label: 'A', status: 'missing', required: false },
        { ...base, id: 'b', label: 'B', status: 'warn', required: true },
        { ...base, id: 'c', label: 'C', status: 'missing', required: true, meaning: 'no C' },
      ]),
    ).toEqual({ canRunContainers: false, reasons: ['C: no C'] });
  });
});

describe('formatDoctorTable', () => {
  const report: DoctorReport = {
    generatedAt: '2024-01-01T00:00:00.000Z',
    durationMs: 12,
    items: [
      {
        id: 'root',
        label: 'running as root',
        status: 'ok',
        value: 'euid 0',
        meaning: 'rootful',
        required: true,
      },
      {
        id: 'capability.CAP_SYS_RESOURCE',
        label: 'CAP_SYS_RESOURCE',
        status: 'missing',
        value: 'missing',
        meaning: 'no rlimits above hard',
        required: false,
      },
      { id: 'x', label: 'x', status: 'warn', value: 'a'.repeat(60), meaning: 'long value', required: false },
    ],
    summary: { canRunContainers: true, reasons: [] },
  };

  it('aligns CHECK, STATUS, VALUE and MEANING and ends with the verdict', () => {
    expect(formatDoctorTable(report)).toBe(
      [
        'CHECK             STATUS   VALUE                                             MEANING',
        'running as root   OK       euid 0                                            rootful',
        'CAP_SYS_RESOURCE  MISSING  missing                                           no rlimits above hard',
        `x                 WARN     ${'a'.repeat(47)}…  long value`,
        '',
        'Containers can run on this host.',
        '',
      ].join('\n'),
    );
  });

  it('lists the reasons when containers cannot run', () => {
    const blocked = { ...report, summary: { canRunContainers: false, reasons: ['overlayfs: no rootfs'] } };
    expect(formatDoctorTable(blocked)).toMatch(
      /Containers cannot run on this host:\n {2}- overlayfs: no rootfs\n$/,
    );
  });
});
