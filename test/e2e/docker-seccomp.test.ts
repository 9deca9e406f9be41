/*
 * Seccomp and security options through the real docker CLI (root only): the built-in
 * profile on `docker run` and `docker exec`, `docker info`, baseline refusing
 * seccomp=unconfined and custom profiles with the rule named, a policy admitting them,
 * options Warden does not apply refused by name, ulimits within the policy max, and the
 * container's own cgroup limits readable at /sys/fs/cgroup.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importBusybox } from '../utils/containers';
import { DockerCli, dockerCliSuite } from '../utils/docker-cli';
import { api, startTestWarden, TestWarden } from '../utils/warden';

const suite = dockerCliSuite('docker seccomp e2e');

const BB = 'busybox:1.35';

suite('seccomp and security options through the docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wds-'));
  const socket = path.join(dir, 'docker.sock');
  const profileFile = path.join(dir, 'no-mkdir.json');

  beforeAll(async () => {
    fs.writeFileSync(
      profileFile,
      JSON.stringify(
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
        },
        null,
        2,
      ),
    );
    w = await startTestWarden('up', {
      WARDEN_DOCKER_SOCKET: socket,
      WARDEN_CGROUP_PARENT: `warden-test-seccomp-${process.pid}`,
    });
    await importBusybox(w);
    docker = new DockerCli(socket);
  });
  afterAll(async () => {
    await w?.close();
    docker?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => docker.run(args);
  const ok = async (args: string[]) => {
    const r = await docker.run(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  it('docker info lists the built-in seccomp profile and no-new-privileges', async () => {
    const info = await ok(['info']);
    expect(info).toMatch(
      /Security Options:\n\s+seccomp\n\s+Profile: builtin\n\s+no-new-privileges\n\s+cgroupns/,
    );
  });

  it('a default container: unshare -U and -n fail with EPERM, a shell workload runs, exec is filtered too', async () => {
    const r = await run(['run', '--rm', BB, 'sh', '-c', 'unshare -U true; unshare -n true; echo still-here']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    expect(r.stderr).toMatch(/unshare\(0x40000000\): Operation not permitted/);
    expect(r.stdout.trim()).toBe('still-here');

    await ok(['run', '-d', '--name', 'web', '--security-opt', 'no-new-privileges', BB, 'sleep', '60']);
    try {
      const status = await ok(['exec', 'web', 'grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status']);
      expect(
        status
          .replace(/[ \t]+/g, ' ')
          .trim()
          .split('\n'),
      ).toEqual(['NoNewPrivs: 1', 'Seccomp: 2']);
      const ex = await run(['exec', 'web', 'unshare', '-U', 'true']);
      expect(ex.code).not.toBe(0);
      expect(ex.stderr).toMatch(/Operation not permitted/);
    } finally {
      await run(['rm', '-f', 'web']);
    }
  });

  it('baseline refuses seccomp=unconfined and a custom profile, naming the rule', async () => {
    const unconfined = await run(['run', '--rm', '--security-opt', 'seccomp=unconfined', BB, 'true']);
    expect(unconfined.code).toBe(125);
    expect(unconfined.stderr).toMatch(
      /seccomp=unconfined is not allowed: .* \(policy baseline, rule seccomp\.allowUnconfined\)/,
    );
    const custom = await run(['run', '--rm', '--security-opt', `seccomp=${profileFile}`, BB, 'true']);
    expect(custom.code).toBe(125);
    expect(custom.stderr).toMatch(/a custom seccomp profile is not allowed: .* rule seccomp\.allowCustom\)/);
  });

  it('options Warden does not apply are refused by name; no-new-privileges=false too', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--oom-kill-disable'], /HostConfig\.OomKillDisable \(--oom-kill-disable\)/],
      [['--add-host', 'db:10.0.0.2'], /HostConfig\.ExtraHosts \(--add-host\)/],
      [['--log-driver', 'syslog'], /log driver 'syslog' is not available on Warden/],
      [['--security-opt', 'apparmor=unconfined'], /apparmor=unconfined is not applied by Warden/],
      [['--security-opt', 'no-new-privileges=false'], /Warden always sets no_new_privs/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(['run', '--rm', ...flags, BB, 'true']);
      expect([flags, r.code]).toEqual([flags, 125]);
      expect(r.stderr).toMatch(message);
    }
  });

  it('--ulimit applies to the container and its execs, within the policy max', async () => {
    const out = await ok([
      'run',
      '--rm',
      '--ulimit',
      'nofile=100:200',
      BB,
      'sh',
      '-c',
      'ulimit -n; ulimit -Hn',
    ]);
    expect(out.trim().split('\n')).toEqual(['100', '200']);
    await ok(['run', '-d', '--name', 'limited', '--ulimit', 'nproc=50:60', BB, 'sleep', '60']);
    try {
      expect((await ok(['exec', 'limited', 'sh', '-c', 'ulimit -u; ulimit -Hu'])).trim().split('\n')).toEqual(
        ['50', '60'],
      );
    } finally {
      await run(['rm', '-f', 'limited']);
    }
    const over = await run(['run', '--rm', '--ulimit', 'nofile=1024:2000000', BB, 'true']);
    expect(over.code).toBe(125);
    expect(over.stderr).toMatch(
      /ulimit nofile hard limit 2000000 exceeds the policy max 1048576 \(policy baseline, rule ulimits\.max\.nofile\)/,
    );
  });

  it('a container reads its own caps from /sys/fs/cgroup (v1 here), read-only', async () => {
    const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    const files = v2
      ? ['memory.max', 'cpu.max', 'pids.max']
      : ['memory/memory.limit_in_bytes', 'cpu/cpu.cfs_quota_us', 'pids/pids.max'];
    const out = await ok([
      'run',
      '--rm',
      '--memory',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '50',
      BB,
      'sh',
      '-c',
      `cd /sys/fs/cgroup && cat ${files.join(' ')}; touch x 2>/dev/null || echo ro`,
    ]);
    expect(out.trim().split('\n')).toEqual(
      v2 ? ['67108864', '50000 100000', '50', 'ro'] : ['67108864', '50000', '50', 'ro'],
    );
  });

  it('a policy admitting them lets a custom profile and unconfined through, and they apply', async () => {
    const doc = {
      name: 'seccomp-lab',
      mode: 'enforce',
      rules: { seccomp: { allowUnconfined: true, allowCustom: true } },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    expect(created.status).toBe(201);
    await api(w, 'POST', '/policies/seccomp-lab/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/seccomp-lab/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });

    const custom = await run(['run', '--rm', '--security-opt', `seccomp=${profileFile}`, BB, 'mkdir', '/x']);
    expect(custom.code).toBe(1);
    expect(custom.stderr).toMatch(/can't create directory '\/x': Permission denied/);

    const free = await ok([
      'run',
      '--rm',
      '--security-opt',
      'seccomp=unconfined',
      BB,
      'sh',
      '-c',
      'grep Seccomp: /proc/self/status; unshare -U true && echo userns-ok',
    ]);
    expect(
      free
        .replace(/[ \t]+/g, ' ')
        .trim()
        .split('\n'),
    ).toEqual(['Seccomp: 0', 'userns-ok']);
  });
});
