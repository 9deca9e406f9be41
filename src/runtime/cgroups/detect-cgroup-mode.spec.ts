import { detectCgroupLayout, parseMountinfo, parseProcSelfCgroup } from './detect-cgroup-mode';
import { buildFakeCgroupTree } from './testing/fake-cgroup-tree';

const line = (id: number, root: string, point: string, type: string, opts: string): string =>
  `${id} 20 0:${id} ${root} ${point} rw,nosuid,nodev,noexec,relatime shared:${id} - ${type} ${type} ${opts}`;

// This machine (DESIGN "The runtime"): separate cpu and cpuacct mounts, the service in memory:/process_api/…
const HERE_MOUNTS = [
  line(31, '/', '/sys/fs/cgroup', 'tmpfs', 'rw,mode=755'),
  line(32, '/', '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
  line(33, '/', '/sys/fs/cgroup/cpuacct', 'cgroup', 'rw,cpuacct'),
  line(34, '/', '/sys/fs/cgroup/cpuset', 'cgroup', 'rw,cpuset'),
  line(35, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
  line(37, '/', '/sys/fs/cgroup/freezer', 'cgroup', 'rw,freezer'),
  line(39, '/', '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
  line(40, '/', '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
  line(41, '/', '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
].join('\n');
const HERE_SELF = [
  '9:name=systemd:/',
  '8:pids:/',
  '4:memory:/process_api/909c',
  '2:cpuacct:/',
  '1:cpu:/',
  '0::/',
].join('\n');

describe('detectCgroupLayout', () => {
  it('reads this machine’s hybrid layout as v1 with per-hierarchy own cgroups', async () => {
    const layout = await detectCgroupLayout({ mountinfo: HERE_MOUNTS, procSelfCgroup: HERE_SELF });
    expect(layout.mode).toBe('hybrid');
    expect(layout.driverMode).toBe('v1');
    expect(layout.v1.memory?.ownDir).toBe('/sys/fs/cgroup/memory/process_api/909c');
    expect(layout.v1.cpu?.ownDir).toBe('/sys/fs/cgroup/cpu');
    expect(layout.v1.cpuacct?.mountPoint).toBe('/sys/fs/cgroup/cpuacct');
    expect(layout.unified?.ownDir).toBe('/sys/fs/cgroup/unified');
    expect(Object.keys(layout.v1).sort()).toEqual(['cpu', 'cpuacct', 'cpuset', 'freezer', 'memory', 'pids']);
  });

  it('shares one hierarchy between co-mounted controllers', async () => {
    const layout = await detectCgroupLayout({
      mountinfo: [
        line(32, '/', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
        line(33, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
      ].join('\n'),
      procSelfCgroup: '3:cpu,cpuacct:/system.slice/warden.service\n2:memory:/system.slice/warden.service',
    });
    expect(layout.mode).toBe('v1');
    expect(layout.v1.cpu).toBe(layout.v1.cpuacct);
    expect(layout.v1.cpu?.ownDir).toBe('/sys/fs/cgroup/cpu,cpuacct/system.slice/warden.service');
  });

  it('reads a pure v2 machine, with the service in a non-root cgroup', async () => {
    const layout = await detectCgroupLayout({
      mountinfo: line(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot'),
      procSelfCgroup: '0::/system.slice/warden.service',
    });
    expect(layout).toMatchObject({ mode: 'v2', driverMode: 'v2', v1: {} });
    expect(layout.unified?.ownDir).toBe('/sys/fs/cgroup/system.slice/warden.service');
  });

  it('strips a mount root (a container’s view of the host tree) and decodes escaped mount points', async () => {
    const layout = await detectCgroupLayout({
      mountinfo: line(30, '/docker/abc', '/sys/fs/cgroup\\040x', 'cgroup2', 'rw'),
      procSelfCgroup: '0::/docker/abc/svc',
    });
    expect(layout.unified?.ownDir).toBe('/sys/fs/cgroup x/svc');
  });

  it('prefixes mount points with an injected root and reads its proc files', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'hybrid', ownPaths: { memory: '/process_api/abc' } });
    try {
      const layout = await detectCgroupLayout({ root: tree.root, fs: tree.fs });
      expect(layout.mode).toBe('hybrid');
      expect(layout.v1.memory?.ownDir).toBe(`${tree.root}/sys/fs/cgroup/memory/process_api/abc`);
    } finally {
      await tree.cleanup();
    }
  });

  it('fails with a clear error when no cgroup filesystem is mounted', async () => {
    await expect(
      detectCgroupLayout({ mountinfo: line(1, '/', '/', 'ext4', 'rw'), procSelfCgroup: '' }),
    ).rejects.toThrow(/no cgroup or cgroup2 filesystem is mounted/);
  });
});

describe('mountinfo and /proc/self/cgroup parsing', () => {
  it('takes controllers from the super options only, skipping named and option entries', () => {
    expect(parseMountinfo(line(40, '/', '/x', 'cgroup', 'rw,xattr,name=systemd'))[0].controllers).toEqual([]);
    expect(parseMountinfo(line(41, '/', '/y', 'cgroup', 'rw,clone_children,cpuset'))[0].controllers).toEqual([
      'cpuset',
    ]);
  });

  it('maps every controller of a co-mounted line and the v2 entry', () => {
    expect(parseProcSelfCgroup('3:cpu,cpuacct:/a\n0::/b')).toEqual({
      v1: { cpu: '/a', cpuacct: '/a' },
      unified: '/b',
    });
  });
});
