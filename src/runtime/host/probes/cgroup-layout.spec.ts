import {
  cgroupDir,
  classifyCgroups,
  parseCgroupMounts,
  parseProcCgroups,
  parseSelfCgroup,
} from './cgroup-layout';

const KNOWN = parseProcCgroups(
  [
    '#subsys_name\thierarchy\tnum_cgroups\tenabled',
    'cpuset\t3\t1\t1',
    'cpu\t1\t1\t1',
    'cpuacct\t2\t1\t1',
    'memory\t4\t46\t1',
    'pids\t8\t1\t1',
    'hugetlb\t0\t1\t1',
    'rdma\t0\t1\t0',
  ].join('\n'),
);

const line = (id: number, root: string, mnt: string, type: string, opts: string) =>
  `${id} 20 0:${id} ${root} ${mnt} rw,nosuid,nodev,noexec,relatime shared:${id} - ${type} ${type} ${opts}`;

// The reference host: per-controller v1 mounts, a named systemd hierarchy, an empty unified tree.
const HYBRID = [
  line(31, '/', '/sys/fs/cgroup', 'tmpfs', 'rw,mode=755'),
  line(32, '/', '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
  line(33, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
  line(34, '/', '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
  line(40, '/', '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
  line(41, '/', '/sys/fs/cgroup/unified', 'cgroup2', 'rw,nsdelegate'),
].join('\n');

// Most users' machines: one cgroup2 mount at /sys/fs/cgroup.
const PURE_V2 = line(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot');

// Older distributions: co-mounted cpu,cpuacct and no unified tree.
const PURE_V1 = [
  line(32, '/', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
  line(33, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
].join('\n');

describe('cgroup layout classification', () => {
  it('reads the enabled controllers from /proc/cgroups', () => {
    expect(KNOWN).toEqual(['cpuset', 'cpu', 'cpuacct', 'memory', 'pids', 'hugetlb']);
  });

  it('hybrid: v1 controller mounts plus a cgroup2 mount', () => {
    const layout = classifyCgroups(parseCgroupMounts(HYBRID), KNOWN);
    expect(layout.mode).toBe('hybrid');
    expect(layout.v1.map((m) => m.controllers)).toEqual([['cpu'], ['memory'], ['pids'], []]);
    expect(layout.v1[3].name).toBe('systemd');
    expect(layout.v2?.mountPoint).toBe('/sys/fs/cgroup/unified');
  });

  it('v2: a single cgroup2 mount', () => {
    expect(classifyCgroups(parseCgroupMounts(PURE_V2), KNOWN)).toMatchObject({ mode: 'v2', v1: [] });
  });

  it('v1: controller mounts only, co-mounted controllers kept together', () => {
    const layout = classifyCgroups(parseCgroupMounts(PURE_V1), KNOWN);
    expect(layout.mode).toBe('v1');
    expect(layout.v1[0]).toMatchObject({
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      controllers: ['cpu', 'cpuacct'],
    });
  });

  it('none: no cgroup filesystems, and a named-only v1 hierarchy does not count', () => {
    expect(
      classifyCgroups(parseCgroupMounts(line(40, '/', '/x', 'cgroup', 'rw,name=systemd')), KNOWN).mode,
    ).toBe('none');
  });

  it('unescapes mount points', () => {
    expect(parseCgroupMounts(line(1, '/', '/mnt/with\\040space', 'cgroup2', 'rw'))[0].mountPoint).toBe(
      '/mnt/with space',
    );
  });

  it('maps /proc/self/cgroup paths to directories, honouring a mount root from a cgroup ns', () => {
    const self = parseSelfCgroup('4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n');
    expect(self.get('memory')).toBe('/process_api/abc');
    expect(self.get('cpuacct')).toBe('/');
    expect(self.get('')).toBe('/');
    const [memory] = parseCgroupMounts(line(33, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'));
    expect(cgroupDir(memory, '/process_api/abc')).toBe('/sys/fs/cgroup/memory/process_api/abc');
    expect(cgroupDir(memory, '/')).toBe('/sys/fs/cgroup/memory');
    const [nested] = parseCgroupMounts(
      line(33, '/process_api', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    );
    expect(cgroupDir(nested, '/process_api/abc')).toBe('/sys/fs/cgroup/memory/abc');
  });
});
