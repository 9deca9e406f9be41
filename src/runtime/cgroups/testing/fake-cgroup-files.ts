// What the kernel puts in a new cgroup directory, per controller, for the fake cgroupfs. Values are the
// kernel's defaults; stat files hold realistic (small) numbers so parsers see real shapes.

/** v1 reports "unlimited" as PAGE_COUNTER_MAX pages of 4 KiB. */
export const V1_UNLIMITED = '9223372036854771712';

export interface FakeFeatures {
  /** memory.memsw.* (v1) / memory.swap.* (v2): swap accounting on. */
  swapAccounting: boolean;
  /** v2 memory.peak (kernel 5.19+). */
  memoryPeak: boolean;
  /** v2 cgroup.kill (kernel 5.14+). */
  cgroupKill: boolean;
}

const V1_MEMORY_STAT = [
  'cache 0',
  'rss 0',
  'inactive_anon 0',
  'active_anon 0',
  'inactive_file 4096',
  'active_file 0',
  'hierarchical_memory_limit ' + V1_UNLIMITED,
  'total_cache 0',
  'total_rss 0',
  'total_inactive_file 4096',
  'total_active_file 0',
].join('\n');

export function v1Files(controller: string, isRoot: boolean, f: FakeFeatures): Record<string, string> {
  const common = { 'cgroup.procs': '', tasks: '', 'cgroup.clone_children': '0', notify_on_release: '0' };
  switch (controller) {
    case 'memory':
      return {
        ...common,
        'memory.limit_in_bytes': V1_UNLIMITED,
        'memory.usage_in_bytes': '8192',
        'memory.max_usage_in_bytes': '16384',
        'memory.failcnt': '0',
        'memory.stat': V1_MEMORY_STAT,
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0',
        'memory.use_hierarchy': '1',
        ...(f.swapAccounting
          ? { 'memory.memsw.limit_in_bytes': V1_UNLIMITED, 'memory.memsw.usage_in_bytes': '8192' }
          : {}),
      };
    case 'cpu':
      return {
        ...common,
        'cpu.shares': '1024',
        'cpu.cfs_period_us': '100000',
        'cpu.cfs_quota_us': '-1',
        'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0',
      };
    case 'cpuacct':
      return {
        ...common,
        'cpuacct.usage': '3000000',
        'cpuacct.usage_user': '2000000',
        'cpuacct.usage_sys': '1000000',
        'cpuacct.stat': 'user 0\nsystem 0',
      };
    case 'pids':
      return isRoot ? common : { ...common, 'pids.max': 'max', 'pids.current': '0' };
    case 'cpuset':
      return {
        ...common,
        'cpuset.cpus': isRoot ? '0-3' : '',
        'cpuset.mems': isRoot ? '0' : '',
        'cpuset.effective_cpus': isRoot ? '0-3' : '',
        'cpuset.effective_mems': isRoot ? '0' : '',
      };
    case 'freezer':
      return isRoot ? common : { ...common, 'freezer.state': 'THAWED' };
    case 'blkio':
      // A multi-queue kernel: no CFQ blkio.weight, BFQ's weight in children only.
      return {
        ...common,
        'blkio.throttle.read_bps_device': '',
        'blkio.throttle.write_bps_device': '',
        'blkio.throttle.read_iops_device': '',
        'blkio.throttle.write_iops_device': '',
        'blkio.throttle.io_service_bytes_recursive':
          '254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 0\n254:0 Async 12288\n254:0 Discard 0\n254:0 Total 12288\nTotal 12288',
        'blkio.throttle.io_serviced_recursive':
          '254:0 Read 1\n254:0 Write 2\n254:0 Sync 0\n254:0 Async 3\n254:0 Discard 0\n254:0 Total 3\nTotal 3',
        ...(isRoot ? {} : { 'blkio.bfq.weight': '100' }),
      };
    default:
      return common;
  }
}

export function v2CoreFiles(isRoot: boolean, controllers: string[], f: FakeFeatures): Record<string, string> {
  return {
    'cgroup.procs': '',
    'cgroup.controllers': controllers.join(' '),
    'cgroup.subtree_control': '',
    'cgroup.max.depth': 'max',
    // cpu.stat is a core file in v2: usage is always accounted.
    'cpu.stat': 'usage_usec 3000\nuser_usec 2000\nsystem_usec 1000',
    ...(isRoot
      ? {}
      : {
          'cgroup.type': 'domain',
          'cgroup.events': 'populated 0\nfrozen 0',
          'cgroup.freeze': '0',
          ...(f.cgroupKill ? { 'cgroup.kill': '' } : {}),
        }),
  };
}

export function v2ControllerFiles(controller: string, f: FakeFeatures): Record<string, string> {
  switch (controller) {
    case 'memory':
      return {
        'memory.current': '8192',
        'memory.max': 'max',
        'memory.high': 'max',
        'memory.stat': 'anon 0\nfile 4096\ninactive_file 4096\nactive_file 0',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0',
        ...(f.memoryPeak ? { 'memory.peak': '16384' } : {}),
        ...(f.swapAccounting ? { 'memory.swap.max': 'max', 'memory.swap.current': '0' } : {}),
      };
    case 'cpu':
      return {
        'cpu.max': 'max 100000',
        'cpu.weight': '100',
        'cpu.stat':
          'usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0',
      };
    case 'pids':
      return { 'pids.max': 'max', 'pids.current': '0' };
    case 'io':
      return {
        'io.max': '',
        'io.weight': 'default 100',
        'io.stat': '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0',
      };
    case 'cpuset':
      return {
        'cpuset.cpus': '',
        'cpuset.mems': '',
        'cpuset.cpus.effective': '0-3',
        'cpuset.mems.effective': '0',
      };
    default:
      return {};
  }
}
