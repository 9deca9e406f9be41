/*
 * The init shim against the real kernel (root only): namespaces, mounts, masks, caps,
 * exit status relay, typed failures and cleanup, for a plain rootfs dir and for an
 * overlay whose lowerdir is that dir.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { launchShim, ShimError } from '../../src/runtime/shim/launch-shim';
import { buildBusyboxRootfs } from '../fixtures/rootfs/busybox-rootfs';
import {
  buildShim,
  collect,
  hostMountsUnder,
  HOSTNAME,
  isRoot,
  makeTmp,
  noCgroups,
  processesRootedUnder,
  rootfsConfig,
  run,
  runConfig,
  shimChildren,
  type RootfsKind,
} from '../fixtures/rootfs/shim-harness';
import { processAlive } from '../utils/processes';

if (!isRoot) console.warn('shim tests skipped: they need root (namespaces, mounts); CI runs them as root');
const describeRoot = isRoot ? describe : describe.skip;

const DOCKER_DEFAULT_CAP_MASK = '00000000a80425fb';

let scratch: string;
let busybox: string;

beforeAll(() => {
  if (!isRoot) return;
  buildShim();
  scratch = makeTmp('warden-shim-test-');
  busybox = buildBusyboxRootfs(join(scratch, 'busybox'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describeRoot.each<RootfsKind>(['plain', 'overlay'])('shim with a %s rootfs', (kind) => {
  const fs = () => rootfsConfig(kind, busybox, scratch);

  it('runs /bin/true and relays exit 0', async () => {
    const r = await run(runConfig(fs(), ['/bin/true']));
    expect(r).toMatchObject({ exitCode: 0, signal: null });
  });

  it('relays a non-zero exit code', async () => {
    const r = await run(runConfig(fs(), ['sh', '-c', 'exit 3']));
    expect(r).toMatchObject({ exitCode: 3, signal: null });
  });

  it('makes the command PID 1 and shows no host processes', async () => {
    const ps = await run(runConfig(fs(), ['ps', '-o', 'pid,args']));
    const rows = ps.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
    expect(rows).toEqual(['1 ps -o pid,args']);

    const ls = await run(runConfig(fs(), ['ls', '/proc']));
    expect(ls.stdout.split(/\s+/).filter((e) => /^\d+$/.test(e))).toEqual(['1']);
  });

  it('sets the hostname in its own UTS namespace', async () => {
    const r = await run(runConfig(fs(), ['hostname']));
    expect(r.stdout.trim()).toBe(HOSTNAME);
  });

  it('shows no host mounts', async () => {
    const r = await run(runConfig(fs(), ['cat', '/proc/self/mountinfo']));
    const mountPoints = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4]);
    expect(mountPoints[0]).toBe('/');
    for (const mp of mountPoints) expect(mp).toMatch(/^\/$|^\/(proc|dev|sys)(\/|$)/);
    expect(mountPoints).toEqual(
      expect.arrayContaining(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']),
    );
    // its own cgroups only: every cgroupfs is rooted at the namespace's root, read-only
    const cgroupMounts = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4].startsWith('/sys/fs/cgroup/'));
    expect(cgroupMounts.length).toBeGreaterThan(0);
    for (const f of cgroupMounts) expect([f[4], f[3], f[5].split(',')[0]]).toEqual([f[4], '/', 'ro']);
  });

  it('mounts its own cgroup read-only at /sys/fs/cgroup (v1: one dir per hierarchy; v2: cgroup2)', async () => {
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const pidsMax = v2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
    const r = await run(
      runConfig(fs(), ['sh', '-c', `ls /sys/fs/cgroup; cat ${pidsMax}; echo 1 > ${pidsMax} || echo ro`]),
    );
    const out = r.stdout.trim().split(/\s+/);
    const expected = v2 ? ['cgroup.controllers', 'pids.max'] : ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset'];
    expect(out).toEqual(expect.arrayContaining([...expected, 'ro']));
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('makes /proc/sys read-only', async () => {
    const r = await run(runConfig(fs(), ['sh', '-c', 'echo evil > /proc/sys/kernel/hostname']));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('masks /proc/kcore and the other masked paths', async () => {
    // /proc/kcore exists only with CONFIG_PROC_KCORE (not on this kernel): masked or absent.
    const script = [
      'if [ -e /proc/kcore ]; then stat -c %t:%T /proc/kcore; wc -c < /proc/kcore; else echo 1:3; echo 0; fi',
      'stat -c %t:%T /proc/keys /proc/timer_list',
      'ls -A /proc/acpi /sys/firmware | grep -vc :',
    ].join('; ');
    const r = await run(runConfig(fs(), ['sh', '-c', script]));
    // /dev/null is char 1:3; the masked dirs are empty apart from ls's "dir:" headers and a blank line
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((s) => s.trim()),
    ).toEqual(['1:3', '0', '1:3', '1:3', '1']);
  });

  it("drops to Docker's default capabilities, with no_new_privs", async () => {
    const r = await run(runConfig(fs(), ['grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status']));
    const status = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/:\s+/)),
    );
    expect(status).toEqual({
      CapInh: '0000000000000000',
      CapPrm: DOCKER_DEFAULT_CAP_MASK,
      CapEff: DOCKER_DEFAULT_CAP_MASK,
      CapBnd: DOCKER_DEFAULT_CAP_MASK,
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
    });
  });

  it('cannot mount', async () => {
    const r = await run(runConfig(fs(), ['mount', '-t', 'tmpfs', 'x', '/mnt']));
    expect(r.exitCode).not.toBe(0);
  });

  it('has only lo, and it is up', async () => {
    const r = await run(
      runConfig(fs(), [
        'sh',
        '-c',
        'ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok',
      ]),
    );
    const [devices, flags, ping] = r.stdout.trim().split('\n');
    expect(devices.trim()).toBe('lo');
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    expect(ping).toBe('ping-ok');
  });

  it('provides /dev nodes', async () => {
    const r = await run(
      runConfig(fs(), [
        'sh',
        '-c',
        'ls /dev; head -c 8 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok',
      ]),
    );
    for (const n of [
      'null',
      'zero',
      'full',
      'random',
      'urandom',
      'tty',
      'pts',
      'shm',
      'mqueue',
      'ptmx',
      'fd',
    ]) {
      expect(r.stdout.split(/\s+/)).toContain(n);
    }
    expect(r.stdout).toMatch(/\b8\s+null-ok/);
  });

  it('runs as a numeric non-root user with no effective capabilities', async () => {
    const r = await run(
      runConfig(
        fs(),
        ['sh', '-c', 'id -u; id -g; id -G; grep CapEff /proc/self/status'],
        {},
        { uid: 65534, gid: 65534, additionalGids: [5] },
      ),
    );
    expect(r.stdout.trim().split('\n')).toEqual(['65534', '65534', '65534 5', 'CapEff:\t0000000000000000']);
  });

  it('applies env, cwd, rlimits and capability changes', async () => {
    const r = await run(
      runConfig(
        fs(),
        ['sh', '-c', 'echo $GREETING; pwd; ulimit -n; grep CapEff /proc/self/status'],
        {},
        {
          env: ['PATH=/bin', 'GREETING=hello'],
          cwd: '/tmp',
          rlimits: [{ type: 'nofile', soft: 123, hard: 456 }],
          capAdd: ['NET_ADMIN'],
          capDrop: ['MKNOD'],
        },
      ),
    );
    // a80425fb + NET_ADMIN (bit 12) - MKNOD (bit 27)
    expect(r.stdout.trim().split('\n')).toEqual(['hello', '/tmp', '123', 'CapEff:\t00000000a00435fb']);
  });

  it('mounts binds (ro and rw), tmpfs with a size cap, and the /etc files', async () => {
    const host = mkdtempSync(join(scratch, 'binds-'));
    mkdirSync(join(host, 'rw'));
    mkdirSync(join(host, 'ro'));
    writeFileSync(join(host, 'ro', 'data'), 'ro-data\n');
    writeFileSync(join(host, 'hostname'), `${HOSTNAME}\n`);
    writeFileSync(join(host, 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(host, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    const script = [
      'echo written > /data/rw/out',
      'cat /data/ro/data',
      'echo x > /data/ro/nope 2>/dev/null || echo ro-refused',
      'dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null || echo tmpfs-full',
      'cat /etc/hostname /etc/hosts /etc/resolv.conf',
    ].join('; ');
    const r = await run(
      runConfig(fs(), ['sh', '-c', script], {
        mounts: [
          { type: 'bind', source: join(host, 'rw'), destination: '/data/rw' },
          { type: 'bind', source: join(host, 'ro'), destination: '/data/ro', readonly: true },
          { type: 'tmpfs', destination: '/scratch', sizeBytes: 1024 * 1024 },
        ],
        etcFiles: {
          hostname: join(host, 'hostname'),
          hosts: join(host, 'hosts'),
          resolvConf: join(host, 'resolv.conf'),
        },
      }),
    );
    expect(r.stdout.trim().split('\n')).toEqual([
      'ro-data',
      'ro-refused',
      'tmpfs-full',
      HOSTNAME,
      '127.0.0.1 localhost',
      'nameserver 192.0.2.53',
    ]);
    expect(readFileSync(join(host, 'rw', 'out'), 'utf8')).toBe('written\n');
  });

  it('honours a read-only rootfs', async () => {
    const r = await run(
      runConfig(
        fs(),
        ['sh', '-c', 'touch /x 2>/dev/null || echo refused; touch /dev/shm/ok && echo shm-ok'],
        { readonlyRootfs: true },
      ),
    );
    expect(r.stdout.trim().split('\n')).toEqual(['refused', 'shm-ok']);
  });

  it('reports death by signal as 128+n with the signal name', async () => {
    const p = await launchShim(runConfig(fs(), ['sleep', '30']), noCgroups);
    process.kill(p.pid, 'SIGKILL');
    await expect(p.exited).resolves.toEqual({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('shares the host network when asked', async () => {
    const r = await run(runConfig(fs(), ['ls', '/sys/class/net'], { network: 'host' }));
    expect(r.stdout.trim().split(/\s+/).sort()).toEqual(readdirSync('/sys/class/net').sort());
  });

  it('rejects a missing command with a typed error and leaves nothing behind', async () => {
    const cfg = runConfig(fs(), ['no-such-command']);
    const err = await launchShim(cfg, noCgroups).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShimError);
    expect(err).toMatchObject({ step: 'exec no-such-command', code: 'ENOENT', errno: 2 });
    expect((err as Error).message).toBe('exec no-such-command: ENOENT');
    expect(processesRootedUnder(cfg.rootfs)).toEqual([]);
    expect(hostMountsUnder(cfg.rootfs)).toEqual([]);
    expect(shimChildren()).toEqual([]);
  });

  it('kills what it started when cgroup placement fails', async () => {
    let placed = 0;
    const err = await launchShim(runConfig(fs(), ['/bin/true']), {
      placeInCgroups: async (pid) => {
        placed = pid;
        throw Object.assign(new Error('cgroup.procs: permission denied'), { code: 'EACCES' });
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ShimError', step: 'place in cgroups', code: 'EACCES' });
    expect(placed).toBeGreaterThan(0);
    expect(processAlive(placed)).toBe(false);
    expect(shimChildren()).toEqual([]);
  });
});

describeRoot('shim failures and cgroups', () => {
  it('rejects a missing lowerdir naming the mount step, and leaves no process or mount', async () => {
    const cfg = rootfsConfig('overlay', join(scratch, 'does-not-exist'), scratch);
    const err = await launchShim(runConfig(cfg, ['/bin/true']), noCgroups).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShimError);
    expect(err).toMatchObject({ step: 'mount overlay', code: 'ENOENT' });
    expect(processesRootedUnder(cfg.rootfs)).toEqual([]);
    expect(hostMountsUnder(scratch)).toEqual([]);
    expect(shimChildren()).toEqual([]);
  });

  it('resolves mount targets inside the rootfs even through absolute symlinks in the image', async () => {
    // A hostile image: /mnt is an absolute symlink to /tmp. Before pivot_root a plain path
    // would follow it to the host's /tmp; the shim must create the mount point in the rootfs.
    const hostile = buildBusyboxRootfs(mkdtempSync(join(scratch, 'hostile-')));
    rmSync(join(hostile, 'mnt'), { recursive: true });
    symlinkSync('/tmp', join(hostile, 'mnt'));
    const name = `warden-escape-${process.pid}`;
    const r = await run(
      runConfig({ rootfs: hostile }, ['sh', '-c', 'grep -c " /tmp/warden-escape" /proc/self/mountinfo'], {
        mounts: [{ type: 'tmpfs', destination: `/mnt/${name}` }],
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: '1\n' });
    expect(existsSync(join('/tmp', name))).toBe(false);
    expect(existsSync(join(hostile, 'tmp', name))).toBe(true);
  });

  it('refuses a /proc that is a symlink leaving the rootfs, touching nothing on the host', async () => {
    const hostile = buildBusyboxRootfs(mkdtempSync(join(scratch, 'hostile-')));
    const outside = mkdtempSync(join(scratch, 'outside-'));
    rmSync(join(hostile, 'proc'), { recursive: true });
    symlinkSync(outside, join(hostile, 'proc'));
    const err = await launchShim(runConfig({ rootfs: hostile }, ['/bin/true']), noCgroups).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'ShimError', step: 'mountpoint /proc', code: 'ENOENT' });
    expect(readdirSync(outside)).toEqual([]);
    expect(hostMountsUnder(scratch)).toEqual([]);
  });

  it('rejects a bad config before creating anything', async () => {
    const cfg = runConfig({ rootfs: 'relative/path' }, ['/bin/true']);
    await expect(launchShim(cfg, noCgroups)).rejects.toMatchObject({
      step: 'config: rootfs must be an absolute path',
      code: 'EINVAL',
    });
  });

  const pidsRoot = '/sys/fs/cgroup/pids';
  (existsSync(join(pidsRoot, 'cgroup.procs')) ? it : it.skip)(
    'roots the cgroup namespace at the cgroup the service placed it in (v1 pids)',
    async () => {
      const cg = join(pidsRoot, `warden-shim-test-${process.pid}`);
      mkdirSync(cg);
      try {
        writeFileSync(join(cg, 'pids.max'), '20');
        const r = await run(
          runConfig(rootfsConfig('plain', busybox, scratch), [
            'cat',
            '/proc/self/cgroup',
            '/sys/fs/cgroup/pids/pids.max',
          ]),
          {
            placeInCgroups: async (pid) => writeFileSync(join(cg, 'cgroup.procs'), String(pid)),
          },
        );
        const lines = r.stdout.trim().split('\n');
        expect(lines.find((l) => /:pids:/.test(l))).toMatch(/:pids:\/$/);
      } finally {
        rmdirSync(cg);
      }
    },
  );

  (existsSync(join(pidsRoot, 'tasks')) ? it : it.skip)(
    'joins its cgroups itself from `cgroup` records (v1 tasks) and roots its cgroup namespace there',
    async () => {
      const cg = join(pidsRoot, `warden-shim-self-${process.pid}`);
      mkdirSync(cg);
      try {
        writeFileSync(join(cg, 'pids.max'), '20');
        const r = await run(
          {
            ...runConfig(rootfsConfig('plain', busybox, scratch), ['cat', '/proc/self/cgroup']),
            cgroupTasks: [join(cg, 'tasks')],
          },
          noCgroups,
        );
        expect(r.stdout.split('\n').find((l) => /:pids:/.test(l))).toMatch(/:pids:\/$/);
      } finally {
        rmdirSync(cg);
      }
    },
  );

  it('stops the launch when it cannot join a cgroup, naming the file, and leaves nothing running', async () => {
    const missing = join(pidsRoot, `warden-shim-missing-${process.pid}`, 'tasks');
    const err = await launchShim(
      { ...runConfig(rootfsConfig('plain', busybox, scratch), ['/bin/true']), cgroupTasks: [missing] },
      noCgroups,
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ShimError', step: `join cgroup ${missing}`, code: 'ENOENT' });
    expect(shimChildren()).toEqual([]);
  });
});

describeRoot('shim start-to-exit time', () => {
  it.each<RootfsKind>(['plain', 'overlay'])(
    'measures /bin/true through launchShim, %s rootfs (median of 50)',
    async (kind) => {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const cfg = runConfig(rootfsConfig(kind, busybox, scratch), ['/bin/true']);
        const t0 = process.hrtime.bigint();
        const p = await launchShim(cfg, noCgroups);
        await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      const median = times[25];
      const p95 = times[47];
      console.log(
        `launchShim /bin/true (${kind}): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, min ${times[0].toFixed(1)} ms`,
      );
      expect(median).toBeLessThan(250);
    },
  );
});
