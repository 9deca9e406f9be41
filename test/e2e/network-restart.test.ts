import {
  dockerOk,
  loadBusybox,
  removeAllContainers,
  startNetnsWarden,
  type NetnsWarden,
} from '../utils/netns-warden';
import { eventually } from '../utils/services';

const BB = 'busybox:1.35';

/**
 * Networks across a Warden restart (issue 16, point 6): containers outlive a `kill -9` of
 * Warden (live restore); the restarted one holds their host ports again, changes their
 * networks, and tears down what each leaves, including one whose process ended while no
 * Warden ran. Warden runs in a network namespace of the test's own, kept by a holder across
 * the restart.
 */
describe('networks across a Warden restart (Warden in its own netns)', () => {
  let w: NetnsWarden;

  beforeAll(async () => {
    w = await startNetnsWarden();
    await loadBusybox(w);
  });
  afterAll(async () => {
    await w?.close();
  });
  afterEach(() => removeAllContainers(w));
  const ok = (args: string[]) => dockerOk(w)(args);
  const curl = (port: number) =>
    w.inNetns(['curl', '-sf', '-m', '3', `http://127.0.0.1:${port}/index.html`], { allowFail: true });

  it('after kill -9: adopted containers keep their host ports and networks; rm and an exit while down leave nothing', async () => {
    await ok(['network', 'create', '--subnet', '10.83.0.0/24', 'rnet']);
    // The network's own rules stay while it exists (as Docker's): counted after a first container.
    await ok(['run', '--rm', '--network', 'rnet', BB, 'true']);
    const empty = w.footprint();

    await ok([
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'rnet',
      '-p',
      '127.0.0.1:18600:80',
      BB,
      'sh',
      '-c',
      'echo still-here > /tmp/index.html; httpd -f -p 80 -h /tmp',
    ]);
    await ok([
      'run',
      '-d',
      '--name',
      'capped',
      '--network',
      'rnet',
      '--label',
      'warden.bandwidth.egress=10mbit',
      BB,
      'sleep',
      '300',
    ]);
    // Held to an empty egress allowlist (nothing but DNS): its nft table is in its own namespace.
    await ok([
      'run',
      '-d',
      '--name',
      'guarded',
      '--network',
      'rnet',
      '--label',
      'warden.egress=',
      BB,
      'sleep',
      '300',
    ]);
    await ok(['run', '-d', '--name', 'brief', '--network', 'rnet', BB, 'sleep', '2']);
    await eventually('web to answer', async () => (curl(18600).code === 0 ? true : undefined));
    const running = w.footprint();
    expect(running.links.filter((l) => l.startsWith('veth'))).toHaveLength(4);
    const webIp: string = JSON.parse(await ok(['inspect', 'web']))[0].NetworkSettings.Networks.rnet.IPAddress;
    const fromGuarded = () =>
      w.docker.run(['exec', 'guarded', 'wget', '-O', '/dev/null', `http://${webIp}/`]);
    expect((await fromGuarded()).stderr).toMatch(/No route to host/);
    expect(running.links.filter((l) => l.startsWith('wfb'))).toHaveLength(1);

    await w.restart('SIGKILL');
    // brief ended while no Warden ran; the new one records its exit and tears its network down.
    await eventually('brief recorded as exited', async () =>
      JSON.parse(await ok(['inspect', 'brief']))[0].State.Status === 'exited' ? true : undefined,
    );

    // web was adopted: running, its port forward answering, and its host port held again.
    expect(JSON.parse(await ok(['inspect', 'web']))[0].State.Running).toBe(true);
    expect(curl(18600).stdout).toContain('still-here');
    expect(await ok(['port', 'web'])).toBe('80/tcp -> 127.0.0.1:18600');
    const clash = await w.docker.run(['run', '--rm', '-p', '127.0.0.1:18600:80', BB, 'true']);
    expect(clash.stderr).toMatch(/host port 127\.0\.0\.1:18600\/tcp is already in use/);
    expect(w.footprint().links.filter((l) => l.startsWith('veth'))).toHaveLength(3);
    expect(w.footprint().aardvark.join('\n')).not.toMatch(/brief/);
    // The egress filter held while no Warden ran, and holds on.
    expect((await fromGuarded()).stderr).toMatch(/No route to host/);

    // Its namespace is Warden's to change again: connect and disconnect while it runs.
    await ok(['network', 'create', '--subnet', '10.84.0.0/24', 'later']);
    await ok(['network', 'connect', 'later', 'web']);
    expect(await ok(['exec', 'web', 'ip', '-4', '-o', 'addr', 'show', 'eth1'])).toMatch(
      /inet 10\.84\.0\.\d+\/24/,
    );
    await ok(['network', 'disconnect', 'later', 'web']);
    expect((await w.docker.run(['exec', 'web', 'ip', 'link', 'show', 'eth1'])).code).not.toBe(0);

    await ok(['rm', '-f', 'web', 'capped', 'guarded', 'brief']);
    const after = w.footprint();
    expect(after.links.filter((l) => l.startsWith('veth') || l.startsWith('wfb'))).toEqual([]);
    expect(after.aardvark).toEqual([]);
    expect(curl(18600).code).not.toBe(0);
    await ok(['network', 'rm', 'later']);
    expect(w.footprint().rules).toBe(empty.rules);
    await ok(['network', 'rm', 'rnet']);
  });
});
