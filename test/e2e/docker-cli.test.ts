import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { busyboxImage } from '../fixtures/images/fixture-images';
import { importBusybox } from '../utils/containers';
import { DockerCli, dockerCliSuite, socketRequest } from '../utils/docker-cli';
import { DockerRegistry, hasDockerRegistry, pushImage, startDockerRegistry } from '../utils/registry';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

// Containers need root (namespaces, cgroups); the CLI is the real docker 28 client.
const suite = dockerCliSuite('docker CLI e2e');

const BB = 'busybox:1.35';
// PID 1 gets no default signal handlers: these make TERM and USR1 visible and quick.
const TRAPS = "trap 'echo usr1' USR1; trap 'echo term; exit 0' TERM; echo up; while true; do sleep 0.1; done";

suite('the real docker CLI against Warden on a unix socket', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let upstream: DockerRegistry | undefined;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-'));
  const socket = path.join(sockDir, 'docker.sock');
  const t0 = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    if (hasDockerRegistry()) {
      upstream = await startDockerRegistry();
      await pushImage(upstream.url, 'app/busybox', '1', await busyboxImage({ gzip: true }));
    }
    w = await startTestWarden('up', {
      WARDEN_DOCKER_SOCKET: socket,
      WARDEN_CGROUP_PARENT: `warden-test-${process.pid}`,
      ...(upstream ? { WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${upstream.host}` } : {}),
    });
    await importBusybox(w);
    docker = new DockerCli(socket);
  });
  afterAll(async () => {
    await w?.close();
    await upstream?.stop();
    docker?.cleanup();
    expect(fs.existsSync(socket)).toBe(false); // removed on shutdown
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  const ok = async (args: string[], input?: string) => {
    const r = await docker.run(args, { input });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];

  it('answers HEAD /_ping, accepts /vX.Y paths, and the socket is 0660', async () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o660);
    const ping = await socketRequest(socket, 'HEAD', '/_ping');
    expect(ping.status).toBe(200);
    expect(ping.headers).toMatchObject({ 'api-version': '1.47', ostype: 'linux' });
    expect((await socketRequest(socket, 'GET', '/v1.41/containers/json')).status).toBe(200);
    const missing = await socketRequest(socket, 'GET', '/v1.47/containers/nope/json');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ message: 'No such container: nope' });
  });

  it('version, info, images', async () => {
    const version = await ok(['version']);
    expect(version).toMatch(/Server: Warden/);
    expect(version).toMatch(/API version:\s+1\.47 \(minimum version 1\.24\)/);
    expect(await ok(['info'])).toMatch(/Server Version: 0\.1\.0/);
    expect(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(BB);
  });

  it('run --rm: output, stderr and the exit code of the container; nothing left behind', async () => {
    const r = await docker.run(['run', '--rm', BB, 'sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
    expect(await ok(['ps', '-aq'])).toBe('');
  });

  it('run -i: piped stdin reaches the container, output flows after the half-close', async () => {
    expect(await ok(['run', '-i', '--rm', BB, 'cat'], 'hi\n')).toBe('hi\n');
    const r = await docker.run(['run', '-i', '--rm', BB, 'sh', '-c', 'cat; sleep 0.2; echo after-eof'], {
      input: 'a\nb\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: 'a\nb\nafter-eof\n' });
  });

  it('run -d with every resource and identity flag; inspect, ps filters, logs, stats, top', async () => {
    const id = (
      await ok([
        'run',
        '-d',
        '--name',
        'web',
        '--label',
        'team=a',
        '-e',
        'GREETING=hey',
        '-w',
        '/tmp',
        '-u',
        '1000',
        '--memory',
        '64m',
        '--memory-swap',
        '128m',
        '--cpus',
        '0.5',
        '--cpu-shares',
        '512',
        '--pids-limit',
        '50',
        '--cpuset-cpus',
        '0',
        '--network',
        'none',
        '--read-only',
        '--cap-drop',
        'NET_RAW',
        BB,
        'sh',
        '-c',
        'echo $GREETING $(pwd) $(id -u); touch /x 2>/dev/null || echo ro; while true; do echo tick; sleep 0.2; done',
      ])
    ).trim();
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    const c = await inspect('web');
    expect(c).toMatchObject({
      Id: id,
      Name: '/web',
      Path: 'sh',
      State: {
        Status: 'running',
        Running: true,
        OOMKilled: false,
        ExitCode: 0,
        FinishedAt: '0001-01-01T00:00:00Z',
      },
      HostConfig: {
        Memory: 64 * 1024 ** 2,
        MemorySwap: 128 * 1024 ** 2,
        NanoCpus: 5e8,
        CpuShares: 512,
        PidsLimit: 50,
        CpusetCpus: '0',
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['CAP_NET_RAW'],
      },
      Config: { Image: BB, User: '1000', WorkingDir: '/tmp', Labels: { team: 'a' } },
    });
    expect(c.State.Pid).toBeGreaterThan(0);
    expect(c.Config.Env).toContain('GREETING=hey');
    await eventually('first log lines', async () => (await ok(['logs', 'web'])).includes('tick'));
    expect((await ok(['logs', 'web'])).split('\n').slice(0, 2)).toEqual(['hey /tmp 1000', 'ro']);

    expect(await ok(['ps', '-q', '--no-trunc'])).toContain(id);
    expect(await ok(['ps', '-q', '--filter', 'label=team=a'])).toBe(`${id.slice(0, 12)}\n`);
    expect(await ok(['ps', '-q', '--filter', 'label=team=b'])).toBe('');
    expect(await ok(['ps', '-q', '--filter', 'name=we'])).toBe(`${id.slice(0, 12)}\n`);
    expect(await ok(['ps', '-q', '--filter', 'status=exited'])).toBe('');

    const stats = await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'web']);
    expect(stats).toMatch(/^web \S+ \/ 64MiB [1-9]\d*\n$/);
    const top = await ok(['top', 'web']);
    expect(top).toMatch(/^UID\s+PID\s+PPID/);
    expect(top).toMatch(/sleep 0\.2/);

    const stamped = await ok(['logs', '-t', '--tail', '2', 'web']);
    expect(stamped.trim().split('\n')).toHaveLength(2);
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick$/m);
    const since = Math.floor(Date.now() / 1000) + 1;
    await new Promise((r) => setTimeout(r, 1500));
    const recent = (await ok(['logs', '-t', '--since', String(since), 'web'])).trim().split('\n');
    for (const l of recent) expect(Date.parse(l.split(' ')[0]) / 1000).toBeGreaterThanOrEqual(since);
    // -f: history (tail 1), then new lines as they are written
    const followed = await docker.lines(['logs', '-f', '--tail', '1', 'web'], 4);
    expect(followed).toEqual(['tick', 'tick', 'tick', 'tick']);
  });

  it('exec with and without -i, exit codes, a missing command', async () => {
    const r = await docker.run(['exec', 'web', 'sh', '-c', 'echo in $(pwd); echo err >&2; exit 5']);
    expect(r).toMatchObject({ code: 5, stdout: 'in /tmp\n', stderr: 'err\n' });
    expect(await ok(['exec', '-i', 'web', 'sh', '-c', 'cat; echo done'], 'piped\n')).toBe('piped\ndone\n');
    expect(
      await ok(['exec', '-u', '0', '-w', '/', '-e', 'X=1', 'web', 'sh', '-c', 'echo $(id -u) $(pwd) $X']),
    ).toBe('0 / 1\n');
    const missing = await docker.run(['exec', 'web', 'no-such-command']);
    expect(missing.code).toBe(127);
  });

  it('stop, kill -s, restart, wait, rm -f', async () => {
    await ok(['run', '-d', '--name', 'trap', BB, 'sh', '-c', TRAPS]);
    await eventually('trap up', async () => (await ok(['logs', 'trap'])).includes('up'));
    await ok(['kill', '-s', 'USR1', 'trap']);
    await eventually('USR1 delivered', async () => (await ok(['logs', 'trap'])).includes('usr1'));
    const t = Date.now();
    await ok(['stop', 'trap']); // TERM is trapped: well inside the default 10 s grace
    expect(Date.now() - t).toBeLessThan(5000);
    expect((await inspect('trap')).State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 0 });
    expect(await ok(['ps', '-aq', '--filter', 'status=exited', '--filter', 'name=trap'])).not.toBe('');

    await ok(['start', 'trap']);
    await ok(['restart', '-t', '1', 'trap']);
    // Docker's RestartCount counts its restart policy's restarts, not a client's restart.
    expect(await inspect('trap')).toMatchObject({ RestartCount: 0, State: { Running: true } });
    const waited = docker.run(['wait', 'trap']);
    await new Promise((r) => setTimeout(r, 300));
    await ok(['kill', 'trap']);
    expect((await waited).stdout).toBe('137\n');
    await ok(['rm', 'trap']);

    await ok(['create', '--name', 'later', BB, 'sh', '-c', 'sleep 0.3; exit 7']);
    expect((await inspect('later')).State.Status).toBe('created');
    await ok(['start', 'later']);
    expect(await ok(['wait', 'later'])).toBe('7\n');
    await ok(['rm', 'later']);

    await ok(['rm', '-f', 'web']);
    expect(await ok(['ps', '-aq'])).toBe('');
  });

  it('OOMKilled after an allocation past --memory', async () => {
    const r = await docker.run([
      'run',
      '--name',
      'oom',
      '--memory',
      '64m',
      BB,
      'sh',
      '-c',
      'head -c 200m /dev/zero | tail',
    ]);
    expect(r.code).toBe(137);
    expect((await inspect('oom')).State).toMatchObject({ OOMKilled: true, ExitCode: 137 });
    await ok(['rm', 'oom']);
  });

  it('policy: --privileged and --network host denied with the reason, on the record with the uid', async () => {
    const priv = await docker.run(['run', '--rm', '--privileged', BB, 'true']);
    expect(priv.code).toBe(125);
    expect(priv.stderr).toMatch(
      /Error response from daemon: privileged mode is not allowed \(policy baseline, rule privileged/,
    );
    const host = await docker.run(['run', '--rm', '--network', 'host', BB, 'true']);
    expect(host.code).toBe(125);
    expect(host.stderr).toMatch(/host network .* not allowed/);
    const denial = await eventually('denied decision in the audit trail', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=policy.decision&decision=denied&limit=100');
      return ev.body.events.find((e: any) => e.payload.spec?.privileged === true);
    });
    expect(denial).toMatchObject({ principal: 'docker-root', source: { via: 'docker', peerUid: 0 } });
  });

  it('a policy that admits host network and NET_ADMIN lets those flags through', async () => {
    const doc = {
      name: 'docker-ops',
      mode: 'enforce',
      rules: {
        hostNamespaces: { allow: true },
        capabilities: { allowAdd: ['NET_ADMIN'] },
        privileged: { allow: false },
      },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    await api(w, 'POST', '/policies/docker-ops/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/docker-ops/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });
    const nets = await ok(['run', '--rm', '--network', 'host', BB, 'ls', '/sys/class/net']);
    expect(nets.trim().split('\n').length).toBeGreaterThan(1); // the host's interfaces, not only lo
    const caps = await ok([
      'run',
      '--rm',
      '--cap-add',
      'NET_ADMIN',
      '--cap-drop',
      'CHOWN',
      BB,
      'grep',
      'CapEff',
      '/proc/self/status',
    ]);
    const eff = BigInt(`0x${caps.split(/\s+/)[1]}`);
    expect(eff & (1n << 12n)).toBe(1n << 12n); // CAP_NET_ADMIN
    expect(eff & 1n).toBe(0n); // CAP_CHOWN dropped
  });

  it('wait before start sees the exit; a dropped wait is harmless', async () => {
    const id = JSON.parse(
      (await socketRequest(socket, 'POST', '/containers/create', { Image: BB, Cmd: ['sh', '-c', 'exit 4'] }))
        .body,
    ).Id;
    const dropped = http.request({
      socketPath: socket,
      method: 'POST',
      path: `/containers/${id}/wait?condition=next-exit`,
    });
    dropped.on('error', () => undefined);
    dropped.end();
    await new Promise((r) => setTimeout(r, 100));
    dropped.destroy();
    const waiting = socketRequest(socket, 'POST', `/v1.47/containers/${id}/wait?condition=next-exit`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await socketRequest(socket, 'POST', `/containers/${id}/start`)).status).toBe(204);
    expect(JSON.parse((await waiting).body)).toEqual({ StatusCode: 4, Error: null });
    expect((await socketRequest(socket, 'DELETE', `/containers/${id}`)).status).toBe(204);
  });

  it('events come from the audit trail: --since/--until and filters', async () => {
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const out = await ok([
      'events',
      '--since',
      String(t0),
      '--until',
      until,
      '--filter',
      'container=trap',
      '--filter',
      'event=die',
      '--format',
      '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}',
    ]);
    expect(out.trim().split('\n')).toEqual([
      'container die trap 0', // stop: TERM trapped
      'container die trap 0', // restart's stop
      'container die trap 137', // kill
    ]);
    const all = await ok([
      'events',
      '--since',
      String(t0),
      '--until',
      until,
      '--filter',
      'type=container',
      '--format',
      '{{.Action}}',
    ]);
    expect(all.split('\n')).toEqual(
      expect.arrayContaining(['create', 'start', 'kill', 'die', 'stop', 'destroy', 'oom']),
    );
  });

  it('an unmapped uid is refused with what to do', async () => {
    expect((await api(w, 'DELETE', '/socket-principals/0')).status).toBe(204);
    const r = await docker.run(['ps']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/uid 0 is not mapped to a Warden principal.*PUT \/socket-principals\/0/);
    expect(
      (await api(w, 'PUT', '/socket-principals/0', { body: { principalId: 'docker-root' } })).status,
    ).toBe(200);
    expect((await docker.run(['ps'])).code).toBe(0);
  });

  (hasDockerRegistry() ? it : it.skip)('pull through a configured upstream, run it, rmi', async () => {
    const ref = `${upstream!.host}/app/busybox:1`;
    const pulled = await docker.run(['pull', ref]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(
      new RegExp(`Status: Downloaded newer image for ${ref.replace(/\./g, '\\.')}`),
    );
    expect(await ok(['run', '--rm', ref, 'echo', 'pulled'])).toBe('pulled\n');
    expect(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(ref);
    expect(await ok(['rmi', ref])).toMatch(/Untagged: .*\nDeleted: sha256:/);
    const missing = await docker.run(['pull', 'nowhere.example/x:1']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no configured upstream serves/);
  });
});
