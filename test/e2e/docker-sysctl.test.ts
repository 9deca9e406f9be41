/*
 * Namespaced sysctls (issue 14) through the real docker CLI (root only): `--sysctl` is
 * written in the container's own network or IPC namespace before it runs (the host's value
 * does not move), a sysctl that is not namespaced or whose namespace is shared is refused
 * before any policy, baseline admits the namespaced ones, and a policy's allowlist refuses
 * the rest with the rule named.
 */
import * as fs from 'node:fs';
import { DockerCli, dockerCliSuite, dockerFails, dockerOk, startDockerWarden } from '../utils/docker-cli';
import { api, TestWarden } from '../utils/warden';

const BB = 'busybox:1.35';
const host = (name: string) => fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();

dockerCliSuite('docker sysctl e2e')('--sysctl through the docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, close } = await startDockerWarden(`warden-test-sysctl-${process.pid}`));
  });
  afterAll(() => close?.());

  it('net.* and kernel.shm* are set inside, and the host keeps its own values', async () => {
    const forward = host('net.ipv4.ip_forward');
    const shmmni = host('kernel.shmmni');
    const want = forward === '1' ? '0' : '1';
    const out = await dockerOk(docker, [
      'run',
      '--rm',
      '--sysctl',
      `net.ipv4.ip_forward=${want}`,
      '--sysctl',
      'kernel.shmmni=1234',
      '--sysctl',
      'net.ipv4.ip_local_port_range=40000 40100',
      BB,
      'sh',
      '-c',
      'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_local_port_range',
    ]);
    expect(out.replace(/\s+/g, ' ').trim()).toBe(`${want} 1234 40000 40100`);
    expect(host('net.ipv4.ip_forward')).toBe(forward);
    expect(host('kernel.shmmni')).toBe(shmmni);
    // The spec as recorded carries them; inspect shows them as Docker does.
    const created = await dockerOk(docker, ['create', '--sysctl', 'kernel.shmmax=65536', BB, 'true']);
    const hc = JSON.parse(await dockerOk(docker, ['inspect', created.trim()]))[0].HostConfig;
    expect(hc.Sysctls).toEqual({ 'kernel.shmmax': '65536' });
    await dockerOk(docker, ['rm', created.trim()]);
  });

  it('refuses a sysctl that is not namespaced, or whose namespace is not the container’s own', async () => {
    // The CLI refuses it itself; the API answers 400 to any client that sends it, changing nothing.
    expect(await dockerFails(docker, ['run', '--rm', '--sysctl', 'vm.swappiness=10', BB, 'true'])).toMatch(
      /sysctl 'vm.swappiness=10' is not allowed/,
    );
    const before = (await api(w, 'GET', '/containers?all=true')).body.length;
    const rest = await api(w, 'POST', '/containers', {
      body: { image: BB, sysctls: { 'vm.swappiness': '10' } },
    });
    expect(rest.status).toBe(400);
    expect(JSON.stringify(rest.body)).toMatch(
      /sysctls\.vm\.swappiness: not a namespaced sysctl, so setting it would change the host's/,
    );
    expect((await api(w, 'GET', '/containers?all=true')).body.length).toBe(before);
    expect(
      await dockerFails(docker, ['run', '--rm', '--ipc', 'host', '--sysctl', 'kernel.shmmax=1', BB, 'true']),
    ).toMatch(/an IPC sysctl needs the container's own IPC namespace/);
    expect(
      await dockerFails(docker, [
        'run',
        '--rm',
        '--network',
        'host',
        '--sysctl',
        'net.ipv4.ip_forward=1',
        BB,
        'true',
      ]),
    ).toMatch(/needs the container's own network namespace \(network host\)/);
  });

  it("a policy's allowlist admits what it lists and refuses the rest, naming the rule", async () => {
    const doc = {
      name: 'sysctl-lab',
      mode: 'enforce',
      rules: { sysctls: { allowed: ['kernel.shmmax'] } },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    expect(created.status).toBe(201);
    await api(w, 'POST', '/policies/sysctl-lab/activate', { body: { versionId: created.body.id } });
    const bound = await api(w, 'POST', '/policies/sysctl-lab/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });
    expect(bound.status).toBeLessThan(300);
    try {
      expect(
        await dockerOk(docker, [
          'run',
          '--rm',
          '--sysctl',
          'kernel.shmmax=65536',
          BB,
          'cat',
          '/proc/sys/kernel/shmmax',
        ]),
      ).toBe('65536\n');
      const denied = await docker.run(['run', '--rm', '--sysctl', 'net.ipv4.ip_forward=1', BB, 'true']);
      expect(denied.code).toBe(125);
      expect(denied.stderr).toMatch(
        /sysctl net\.ipv4\.ip_forward is not allowed \(allowed: kernel\.shmmax\) \(policy sysctl-lab, rule sysctls\.allowed\)/,
      );
    } finally {
      await api(w, 'DELETE', '/policies/sysctl-lab/bindings?kind=principal&value=docker-root');
    }
  });
});
