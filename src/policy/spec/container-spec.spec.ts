import { minimalSpec } from '../testing/fixtures';
import { toContainerSpec } from './container-spec';
import { formatBytes, formatCpus, parseByteSize } from './units';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const base = { image: 'corp.io/team/app:1.2.3' };

function spec(extra: Record<string, unknown>) {
  const r = toContainerSpec({ ...base, ...extra });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.spec;
}
function errors(extra: Record<string, unknown>): string[] {
  const r = toContainerSpec({ ...base, ...extra });
  if (r.ok) throw new Error('expected the request to be refused');
  return r.errors;
}

describe('toContainerSpec', () => {
  it('turns the minimal request into the minimal spec', () => {
    expect(spec({})).toEqual(minimalSpec());
  });

  it('maps every field', () => {
    const s = spec({
      cmd: ['sh', '-c', 'true'],
      entrypoint: ['/init'],
      env: { A: '1' },
      user: '1000:1000',
      workingDir: '/app',
      labels: { owner: 'me' },
      memory: '512m',
      memorySwap: '1g',
      cpus: 0.5,
      cpuShares: 512,
      pidsLimit: 100,
      cpusetCpus: '0-1,3',
      privileged: true,
      capAdd: ['net_admin'],
      capDrop: ['ALL'],
      network: 'host',
      pid: 'host',
      ipc: 'host',
      uts: 'host',
      binds: ['/data:/data:ro', { source: '/srv', target: '/srv/' }],
      tmpfs: ['/run:size=64m,noexec'],
      devices: ['/dev/fuse'],
      readOnly: true,
    });
    expect(s).toEqual({
      ...minimalSpec(),
      command: ['sh', '-c', 'true'],
      entrypoint: ['/init'],
      env: ['A=1'],
      user: '1000:1000',
      workingDir: '/app',
      labels: { owner: 'me' },
      memoryBytes: 512 * MiB,
      memorySwapBytes: GiB,
      nanoCpus: 500_000_000,
      cpuShares: 512,
      pidsLimit: 100,
      cpusetCpus: '0-1,3',
      privileged: true,
      capAdd: ['CAP_NET_ADMIN'],
      capDrop: ['ALL'],
      hostNamespaces: { pid: true, ipc: true, net: true, uts: true },
      networkMode: 'host',
      binds: [
        { source: '/data', target: '/data', readOnly: true },
        { source: '/srv', target: '/srv', readOnly: false },
      ],
      tmpfs: [{ target: '/run', sizeBytes: 64 * MiB, options: ['noexec'] }],
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm' }],
      readOnlyRootfs: true,
    });
  });

  it.each([
    ['512m', 512 * MiB],
    ['2g', 2 * GiB],
    ['2G', 2 * GiB],
    ['1.5g', 1.5 * GiB],
    ['64MiB', 64 * MiB],
    ['100mb', 100 * MiB],
    [268435456, 256 * MiB],
    ['268435456', 256 * MiB],
  ])('parses memory %j', (memory, bytes) => {
    expect(spec({ memory }).memoryBytes).toBe(bytes);
  });

  it('accepts nanoCpus directly, and the same value given both ways', () => {
    expect(spec({ nanoCpus: 1_500_000_000 }).nanoCpus).toBe(1_500_000_000);
    expect(spec({ cpus: 1.5, nanoCpus: 1_500_000_000 }).nanoCpus).toBe(1_500_000_000);
    expect(spec({ cpus: '2' }).nanoCpus).toBe(2e9);
  });

  it('accepts unlimited swap as -1', () => {
    expect(spec({ memory: '1g', memorySwap: -1 }).memorySwapBytes).toBe(-1);
  });

  it('takes tmpfs in Docker API map form', () => {
    expect(spec({ tmpfs: { '/tmp': 'size=1g,mode=1777', '/run': '' } }).tmpfs).toEqual([
      { target: '/tmp', sizeBytes: GiB, options: ['mode=1777'] },
      { target: '/run', options: [] },
    ]);
  });

  it('passes image options through to the reference parser', () => {
    expect(toContainerSpec({ image: 'busybox' }, { dockerHubNormalize: true })).toMatchObject({
      ok: true,
      spec: { image: { registry: 'docker.io', repository: 'library/busybox' } },
    });
  });

  it.each([
    [{ memory: '12x' }, 'memory: "12x" is not a size'],
    [{ memory: -5 }, 'memory: -5b is negative'],
    [{ memory: '1m' }, 'memory: 1m is below the minimum 6m'],
    [{ memory: '9p' }, 'memory: 9p is above the maximum 1p'],
    [{ memorySwap: '1g' }, 'memorySwap: set memory as well'],
    [{ memory: '1g', memorySwap: '512m' }, 'memorySwap: 512m is less than memory 1g'],
    [{ memory: '1g', memorySwap: -2 }, 'memorySwap: -2 is negative'],
    [{ cpus: 0 }, 'cpus: 0 is below the minimum 0.01'],
    [{ cpus: -1 }, 'cpus: -1 is negative'],
    [{ cpus: 100000 }, 'cpus: 100000 is above the maximum 8192'],
    [{ cpus: 'lots' }, 'cpus: "lots" is not a number'],
    [{ cpus: 1, nanoCpus: 2e9 }, 'cpus and nanoCpus disagree'],
    [{ nanoCpus: 1.5 }, 'nanoCpus: '],
    [{ cpuShares: 1 }, 'cpuShares: 1 is below the minimum 2'],
    [{ pidsLimit: 0 }, 'pidsLimit: 0 is not a limit'],
    [{ pidsLimit: -1 }, 'pidsLimit: -1 is not a limit'],
    [{ pidsLimit: 10_000_000 }, 'pidsLimit: 10000000 is above the maximum'],
    [{ cpusetCpus: '3-1' }, 'cpusetCpus: "3-1"'],
    [{ cpusetCpus: 'a' }, 'cpusetCpus: "a"'],
    [{ image: 'Corp/App' }, 'image: invalid image reference "Corp/App"'],
    [{ image: '' }, 'image: '],
    [{ env: ['NOVALUE'] }, 'env[0]: "NOVALUE" must be KEY=VALUE'],
    [{ env: ['=x'] }, 'env[0]'],
    [{ user: 'a b' }, 'user: "a b"'],
    [{ workingDir: 'app' }, 'workingDir: "app" must be an absolute path'],
    [{ capAdd: ['NET_ADMIN', 'FLY'] }, 'capAdd[1]: unknown capability "FLY"'],
    [{ network: 'bad name!' }, 'network: "bad name!"'],
    [{ pid: 'container' }, 'pid: '],
    [{ binds: ['data:/data'] }, 'binds[0]: source "data" looks like a named volume'],
    [{ binds: ['/data'] }, 'binds[0]: "/data" must be /host/path:/container/path[:ro]'],
    [{ binds: ['/data:/'] }, 'binds[0]: target / would replace'],
    [{ binds: ['/data:/x:z'] }, 'binds[0]: option "z"'],
    [{ binds: ['/data:rel'] }, 'binds[0]: target "rel" must be an absolute path'],
    [{ binds: ['/a:/x', '/b:/x/'] }, 'mounts: /x is mounted more than once'],
    [{ tmpfs: ['/run:size=0'] }, 'tmpfs[0]: size "0"'],
    [{ tmpfs: ['/run:exotic'] }, 'tmpfs[0]: option "exotic"'],
    [{ devices: ['/dev/x:/dev/y:rwx'] }, 'devices[0]: permissions "rwx"'],
    [{ devices: ['dev/x'] }, 'devices[0]: device "dev/x" must be an absolute path'],
    [{ memroy: '1g' }, 'request: unknown field "memroy"'],
    [{ privileged: 'yes' }, 'privileged: '],
  ])('refuses %j', (extra, message) => {
    expect(errors(extra).join('\n')).toContain(message);
  });

  it('lists every problem, not only the first', () => {
    expect(errors({ memory: '1x', cpus: -1, pidsLimit: 0, capAdd: ['FLY'], workingDir: 'rel' })).toHaveLength(
      5,
    );
  });

  it('does not let a __proto__ key in JSON fake a label', () => {
    const s = spec({ labels: JSON.parse('{"__proto__": {"owner": "x"}}') });
    expect(s.labels.owner).toBeUndefined();
  });

  it('refuses a request that is not an object, or has no image', () => {
    expect(toContainerSpec(null)).toMatchObject({ ok: false });
    expect((toContainerSpec({}) as { errors: string[] }).errors[0]).toContain('image: is required');
  });
});

describe('units', () => {
  it.each([
    [512 * MiB, '512m'],
    [2 * GiB, '2g'],
    [9 * GiB, '9g'],
    [1536 * MiB, '1536m'],
    [1024 ** 4, '1t'],
    [4096, '4k'],
    [1000, '1000b'],
    [1.25 * GiB + 1, '1.3g (1342177281 bytes)'],
    [-1, 'unlimited'],
  ])('formatBytes(%d) = %s', (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });

  it('parseByteSize refuses non-sizes', () => {
    for (const s of ['', 'm', '1x', '1.2.3m', '1 2m', '-1m']) expect(parseByteSize(s)).toBeUndefined();
  });

  it('formatCpus', () => {
    expect(formatCpus(1e9)).toBe('1 CPU');
    expect(formatCpus(5e8)).toBe('0.5 CPUs');
  });
});

describe('volumes in a launch request', () => {
  it('takes named, anonymous and object forms, and refuses a host path or a bad option', () => {
    const r = toContainerSpec({
      image: 'corp.io/app:1',
      volumes: ['data:/data:ro,nocopy', '/cache', { source: 'x1', target: '/x/' }],
    });
    expect(r.ok && r.spec.volumes).toEqual([
      { name: 'data', target: '/data', readOnly: true, noCopy: true },
      { name: '', target: '/cache', readOnly: false, noCopy: false },
      { name: 'x1', target: '/x', readOnly: false, noCopy: false },
    ]);
    expect(toContainerSpec({ image: 'corp.io/app:1', volumes: ['a:/d:z'] })).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^volumes\[0\]: option "z"/)],
    });
    expect(toContainerSpec({ image: 'corp.io/app:1', volumes: ['data:/'] })).toMatchObject({
      ok: false,
      errors: ['volumes[0]: target / would replace the container root filesystem'],
    });
    expect(toContainerSpec({ image: 'corp.io/app:1', volumes: ['a1:/d'], binds: ['/srv:/d'] })).toMatchObject(
      { ok: false, errors: ['mounts: /d is mounted more than once'] },
    );
  });
});
