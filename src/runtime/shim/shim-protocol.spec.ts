import {
  capabilityMask,
  encodeShimConfig,
  errnoName,
  parseShimLine,
  ShimMessageDecoder,
  type ShimRunConfig,
} from './shim-protocol';

const base: ShimRunConfig = {
  mode: 'run',
  rootfs: '/var/lib/warden/c1/rootfs',
  hostname: 'c1',
  network: 'none',
  process: { args: ['/bin/sh', '-c', 'echo hi'], env: ['PATH=/bin'], uid: 0, gid: 0 },
};
const unconfined: ShimRunConfig = { ...base, process: { ...base.process, seccomp: 'unconfined' } };

function records(frame: Buffer): string[] {
  expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
  const body = frame.subarray(4).toString();
  expect(body.endsWith('\0')).toBe(true);
  return body.slice(0, -1).split('\0');
}

describe('capabilityMask', () => {
  it("is Docker's default set without changes", () => {
    expect(capabilityMask().toString(16).padStart(16, '0')).toBe('00000000a80425fb');
  });

  it('applies drops, then adds, in any spelling, with ALL', () => {
    expect(capabilityMask(['cap_net_admin'], ['MKNOD'])).toBe(0xa80425fbn + (1n << 12n) - (1n << 27n));
    expect(capabilityMask(['NET_BIND_SERVICE'], ['ALL'])).toBe(1n << 10n);
    expect(() => capabilityMask(['NOT_A_CAP'])).toThrow(/unknown capability/);
  });
});

describe('encodeShimConfig', () => {
  it('frames NUL-separated key/value records in a stable order', () => {
    const r = records(encodeShimConfig(unconfined));
    expect(r).toEqual([
      'mode', 'run', 'rootfs', '/var/lib/warden/c1/rootfs', 'readonly', '0', 'hostname', 'c1', 'net', 'none',
      'arg', '/bin/sh', 'arg', '-c', 'arg', 'echo hi', 'env', 'PATH=/bin', 'cwd', '/', 'uid', '0', 'gid', '0',
      'caps', 'a80425fb', 'seccomp', 'unconfined',
    ]); // prettier-ignore
  });

  it('a terminal with its first size; a stdin pipe only for a monitored run without one', () => {
    const monitor = {
      stateDir: '/s',
      logPath: '/l',
      logMaxBytes: 1024,
      logMaxFiles: 1,
      cgroupDirs: [],
      stdin: true,
    };
    const tty = records(
      encodeShimConfig({
        ...unconfined,
        monitor,
        process: { ...unconfined.process, terminal: { rows: 40, cols: 120 } },
      }),
    );
    expect(tty.slice(tty.indexOf('tty'), tty.indexOf('tty') + 3)).toEqual(['tty', '40', '120']);
    expect(tty).not.toContain('stdin'); // with a terminal, stdin is the terminal
    const piped = records(encodeShimConfig({ ...unconfined, monitor }));
    expect(piped.slice(piped.indexOf('stdin'), piped.indexOf('stdin') + 2)).toEqual(['stdin', '1']);
    expect(piped).not.toContain('tty');
    expect(() =>
      encodeShimConfig({
        ...unconfined,
        process: { ...unconfined.process, terminal: { rows: -1, cols: 80 } },
      }),
    ).toThrow(/tty rows/);
  });

  it('carries the compiled seccomp program, and refuses a frame without one', () => {
    const program = Buffer.from('0600000000000000', 'hex'); // BPF_RET|K 0: one instruction
    const r = records(encodeShimConfig({ ...base, process: { ...base.process, seccompProgram: program } }));
    const at = r.indexOf('seccomp');
    expect(r.slice(at, at + 4)).toEqual(['seccomp', 'bpf', 'scbpf', '0600000000000000']);
    expect(() => encodeShimConfig(base)).toThrow(/seccomp program is not compiled/);
  });

  it('encodes overlay, mounts, /etc files and rlimits', () => {
    const r = records(
      encodeShimConfig({
        ...unconfined,
        overlay: { lowerdirs: ['/l/2', '/l/1'], upperdir: '/u', workdir: '/w' },
        etcFiles: { hosts: '/c1/hosts' },
        mounts: [
          { type: 'bind', source: '/data', destination: '/data', readonly: true },
          { type: 'tmpfs', destination: '/run', sizeBytes: 1048576 },
        ],
        process: { ...unconfined.process, rlimits: [{ type: 'nofile', soft: 1024, hard: 'unlimited' }] },
      }),
    );
    const joined = r.join(' ');
    expect(joined).toContain('lower /l/2 lower /l/1 upper /u work /w');
    expect(joined).toContain('bind /c1/hosts /etc/hosts rw bind /data /data ro tmpfs /run 1048576 1777');
    expect(joined).toContain('rlimit nofile 1024 unlimited');
  });

  it('encodes the cgroup files the init joins itself, after the mounts', () => {
    const r = records(encodeShimConfig({ ...unconfined, cgroupTasks: ['/sys/fs/cgroup/pids/w/c1/tasks'] }));
    expect(r.slice(r.indexOf('cgroup'), r.indexOf('cgroup') + 2)).toEqual([
      'cgroup',
      '/sys/fs/cgroup/pids/w/c1/tasks',
    ]);
    expect(r.indexOf('cgroup')).toBeLessThan(r.indexOf('arg'));
  });

  it('carries each sysctl as a name and a value (values with spaces whole)', () => {
    const r = records(
      encodeShimConfig({
        ...unconfined,
        sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv4.ip_local_port_range': '40000 40100' },
      }),
    );
    const at = r.indexOf('sysctl');
    expect(r.slice(at, at + 6)).toEqual([
      'sysctl',
      'net.ipv4.ip_forward',
      '1',
      'sysctl',
      'net.ipv4.ip_local_port_range',
      '40000 40100',
    ]);
    expect(records(encodeShimConfig(unconfined))).not.toContain('sysctl');
  });

  it('refuses values the frame cannot carry', () => {
    expect(() => encodeShimConfig({ ...unconfined, hostname: 'a\0b' })).toThrow(/NUL/);
    expect(() => encodeShimConfig({ ...unconfined, process: { ...unconfined.process, uid: -1 } })).toThrow(
      /uid/,
    );
    expect(() => encodeShimConfig({ ...unconfined, process: { ...unconfined.process, args: [] } })).toThrow(
      /args/,
    );
  });
});

describe('status messages', () => {
  it('decodes lines split across chunks', () => {
    const d = new ShimMessageDecoder();
    expect(d.push('PID 42\nEX')).toEqual([{ type: 'pid', pid: 42 }]);
    expect(d.push('EC\nEXIT -1 9\n')).toEqual([
      { type: 'exec' },
      { type: 'exit', exitCode: null, signal: 9 },
    ]);
  });

  it('keeps the whole step of an error, spaces included', () => {
    expect(parseShimLine('ERR 2 exec no such')).toEqual({ type: 'error', errno: 2, step: 'exec no such' });
    expect(errnoName(2)).toBe('ENOENT');
  });

  it('rejects garbage', () => {
    expect(() => parseShimLine('PID x')).toThrow(/malformed/);
    expect(() => parseShimLine('HELLO')).toThrow(/unknown/);
  });
});
