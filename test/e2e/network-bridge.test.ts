import { loadBusybox, startNetnsWarden, type NetnsWarden } from '../utils/netns-warden';

const BB = 'busybox:1.35';

/**
 * Bridge networking end to end (issue 16), the real docker CLI against a Warden that runs in
 * a network namespace of the test's own: networks, addresses, name resolution, and nothing
 * left behind.
 */
describe('bridge networks (Warden in its own netns)', () => {
  let w: NetnsWarden;
  let baseline: ReturnType<NetnsWarden['footprint']>;

  beforeAll(async () => {
    w = await startNetnsWarden();
    await loadBusybox(w);
    baseline = w.footprint();
  });
  afterAll(async () => {
    await w?.close();
  });

  const ok = async (args: string[]) => {
    const r = await w.docker.run(args);
    if (r.code !== 0)
      throw new Error(
        `docker ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}\n${w.output().slice(-2000)}`,
      );
    return r.stdout.trim();
  };

  it('lists the built-in networks, and the namespace starts empty', async () => {
    expect(baseline).toEqual({ links: [], addresses: [], rules: 0, aardvark: [] });
    const ls = await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(ls.split('\n').sort()).toEqual(['bridge bridge', 'host host', 'none null']);
    const bridge = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    expect(bridge.IPAM.Config).toEqual([{ Subnet: '10.231.0.0/16', Gateway: '10.231.0.1' }]);
    expect(bridge.Options['com.docker.network.bridge.name']).toBe('warden0');
  });

  it('runs a container on the default bridge with an address from the subnet', async () => {
    const out = await ok(['run', '--rm', BB, 'sh', '-c', 'ip -4 -o addr show eth0; cat /etc/hosts']);
    expect(out).toMatch(/eth0\s+inet 10\.231\.0\.2\/16/);
    expect(out).toMatch(/10\.231\.0\.2\t/);
  });

  it('two containers on a user network reach each other by name and alias', async () => {
    await ok(['network', 'create', '--subnet', '10.77.0.0/24', '--label', 'team=a', 'appnet']);
    const net = JSON.parse(await ok(['network', 'inspect', 'appnet']))[0];
    expect(net).toMatchObject({
      Name: 'appnet',
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }] },
      Labels: { team: 'a' },
    });
    await ok([
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'appnet',
      '--network-alias',
      'www',
      '--ip',
      '10.77.0.50',
      BB,
      'sh',
      '-c',
      'echo hello-from-web > /tmp/index.html; httpd -f -p 80 -h /tmp',
    ]);
    const inspect = JSON.parse(await ok(['inspect', 'web']))[0];
    expect(inspect.NetworkSettings.Networks.appnet).toMatchObject({
      IPAddress: '10.77.0.50',
      Gateway: '10.77.0.1',
      IPPrefixLen: 24,
      Aliases: ['www'],
      IPAMConfig: { IPv4Address: '10.77.0.50' },
    });
    expect(inspect.HostConfig.NetworkMode).toBe('appnet');
    const out = await ok([
      'run',
      '--rm',
      '--network',
      'appnet',
      BB,
      'sh',
      '-c',
      'cat /etc/resolv.conf; wget -q -O - http://web/index.html; wget -q -O - http://www/index.html',
    ]);
    expect(out).toContain('nameserver 10.77.0.1');
    expect(out.match(/hello-from-web/g)).toHaveLength(2);
    await ok(['rm', '-f', 'web']);
    await ok(['network', 'rm', 'appnet']);
  });

  it('leaves nothing behind once the last container is gone', async () => {
    const now = w.footprint();
    // The bridges stay until their network is removed (as Docker's); veths, rules for the
    // containers and DNS entries go with the containers.
    expect(now.links.filter((l) => l.startsWith('veth'))).toEqual([]);
    expect(now.aardvark).toEqual([]);
  });
});
