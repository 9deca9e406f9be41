import {
  auditTrail,
  dockerOk,
  loadBusybox,
  removeAllContainers,
  startNetnsWarden,
  type NetnsWarden,
} from '../utils/netns-warden';
import { eventually } from '../utils/services';

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
  // A failed test must not leave its containers to the next one's counts.
  afterEach(() => removeAllContainers(w));
  const ok = (args: string[]) => dockerOk(w)(args);

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

  it('publishes ports on 127.0.0.1 and every address; docker port and inspect show them', async () => {
    const before = w.footprint();
    await ok([
      'run',
      '-d',
      '--name',
      'pub',
      '-p',
      '127.0.0.1:18080:80',
      '-p',
      '18081-18082:81-82',
      '-p',
      '83',
      BB,
      'sh',
      '-c',
      'echo hi-pub > /tmp/index.html; httpd -p 80 -h /tmp; httpd -p 81 -h /tmp; httpd -f -p 83 -h /tmp',
    ]);
    const fetch = (port: number) =>
      w.inNetns(['curl', '-sf', '-m', '3', `http://127.0.0.1:${port}/index.html`]).stdout.trim();
    expect(fetch(18080)).toBe('hi-pub');
    expect(fetch(18081)).toBe('hi-pub');
    const port = await ok(['port', 'pub']);
    const any = /83\/tcp -> 0\.0\.0\.0:(\d+)/.exec(port);
    expect(port).toContain('80/tcp -> 127.0.0.1:18080');
    expect(port).toContain('81/tcp -> 0.0.0.0:18081');
    expect(port).toContain('82/tcp -> 0.0.0.0:18082');
    expect(any).not.toBeNull();
    expect(fetch(Number(any![1]))).toBe('hi-pub');
    const inspect = JSON.parse(await ok(['inspect', 'pub']))[0];
    expect(inspect.HostConfig.PortBindings['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '18080' }]);
    expect(inspect.NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '18080' }]);
    expect(await ok(['ps', '--format', '{{.Ports}}'])).toContain('127.0.0.1:18080->80/tcp');

    // A host port in use: a clear 409, and nothing of the second container's network is made.
    const during = w.footprint();
    const clash = await w.docker.run(['run', '--rm', '-p', '18080:80', BB, 'true']);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toMatch(/host port 0\.0\.0\.0:18080\/tcp is already in use/);
    expect(w.footprint()).toEqual(during);

    await ok(['rm', '-f', 'pub']);
    expect(
      w.inNetns(['curl', '-sf', '-m', '2', 'http://127.0.0.1:18080/'], { allowFail: true }).code,
    ).not.toBe(0);
    const after = w.footprint();
    expect(after.links).toEqual(before.links);
    expect(after.rules).toBe(before.rules);
  });

  it('a failed network setup is torn down and the start fails with nothing left', async () => {
    await ok(['network', 'create', 'failnet']);
    const id: string = JSON.parse(await ok(['network', 'inspect', 'failnet']))[0].Id;
    // A non-bridge interface where the network's bridge would go: netavark's setup fails.
    const squatter = `wbr-${id.slice(0, 11)}`;
    w.inNetns(['ip', 'link', 'add', squatter, 'type', 'veth', 'peer', 'name', 'squatpeer0']);
    const before = w.footprint();
    const r = await w.docker.run(['run', '--rm', '--network', 'failnet', BB, 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/network setup failed/);
    expect(w.footprint()).toEqual(before);
    w.inNetns(['ip', 'link', 'del', squatter]);
    await ok(['network', 'rm', 'failnet']);
  });

  it('stop and rm leave no veth, rule or DNS entry behind', async () => {
    await ok(['network', 'create', 'stopnet']);
    const empty = w.footprint();
    await ok(['run', '-d', '--name', 'stopper', '--network', 'stopnet', '-p', '18090:80', BB, 'sleep', '60']);
    const running = w.footprint();
    expect(running.links.filter((l) => l.startsWith('veth'))).toHaveLength(1);
    expect(running.aardvark.join('\n')).toMatch(/stopper/);
    expect(running.rules).toBeGreaterThan(empty.rules);
    await ok(['stop', '-t', '1', 'stopper']);
    const stopped = w.footprint();
    expect(stopped.links.filter((l) => l.startsWith('veth'))).toEqual([]);
    expect(stopped.aardvark).toEqual([]);
    // The network's own bridge and its rules stay while the network exists (as with Docker).
    expect(stopped.rules).toBeLessThan(running.rules);
    await ok(['start', 'stopper']);
    expect(w.footprint().links.filter((l) => l.startsWith('veth'))).toHaveLength(1);
    await ok(['rm', '-f', 'stopper']);
    expect(w.footprint().links.filter((l) => l.startsWith('veth'))).toEqual([]);
    await ok(['network', 'rm', 'stopnet']);
  });

  it('connect and disconnect, several networks per container, and REST', async () => {
    await ok(['network', 'create', '--subnet', '10.78.0.0/24', '--ip-range', '10.78.0.128/25', 'front']);
    await ok(['network', 'create', '--internal', 'back']);
    await ok([
      'create',
      '--name',
      'multi',
      '--network',
      'front',
      BB,
      'sh',
      '-c',
      'ip -4 -o addr; ip route; sleep 30',
    ]);
    await ok(['network', 'connect', '--alias', 'db', 'back', 'multi']);
    const rm = await w.docker.run(['network', 'rm', 'back']);
    expect(rm.stderr).toMatch(/network back has containers on it \(multi\)/);
    await ok(['start', 'multi']);
    const inspect = JSON.parse(await ok(['inspect', 'multi']))[0];
    const nets = inspect.NetworkSettings.Networks;
    expect(Object.keys(nets).sort()).toEqual(['back', 'front']);
    // --ip-range: the first address of the range, not of the subnet.
    expect(nets.front.IPAddress).toBe('10.78.0.128');
    expect(nets.back.Aliases).toEqual(['db']);
    const logs = await eventuallyLogs('multi', /default via/);
    expect(logs).toMatch(/eth0\s+inet 10\.78\.0\.128\/24/);
    expect(logs).toMatch(new RegExp(`eth1\\s+inet ${nets.back.IPAddress.replace(/\./g, '\\.')}/24`));
    // The internal network gives no default route: only front's gateway is one.
    expect(logs).toMatch(/default via 10\.78\.0\.1 dev eth0/);
    expect(logs).not.toMatch(/default via .* dev eth1/);
    await ok(['stop', '-t', '0', 'multi']);
    await ok(['network', 'disconnect', 'back', 'multi']);
    expect(Object.keys(JSON.parse(await ok(['inspect', 'multi']))[0].NetworkSettings.Networks)).toEqual([
      'front',
    ]);
    await ok(['network', 'rm', 'back']);

    // The REST API answers inside the namespace (its TCP port is there).
    const rest = w.inNetns([
      'curl',
      '-sf',
      '-H',
      'authorization: Bearer test-admin-token-0123456789',
      'http://127.0.0.1:8484/networks/front',
    ]);
    expect(JSON.parse(rest.stdout)).toMatchObject({
      name: 'front',
      subnet: '10.78.0.0/24',
      ipRange: '10.78.0.128/25',
      containers: [{ name: 'multi', address: '10.78.0.128' }],
    });
    await ok(['rm', 'multi']);
    expect((await ok(['network', 'prune', '-f'])).split('\n')).toContain('front');
  });

  it('policy: the baseline refuses a port below 1024 on every address, with the rule; each step is on the audit trail', async () => {
    const denied = await w.docker.run(['run', '--rm', '-p', '80:80', BB, 'true']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(
      /publishing 0\.0\.0\.0:80->80\/tcp: a port below 1024 on every address is not allowed.*rule network\.publish\.wildcardBelow1024/,
    );
    await ok(['network', 'create', 'audited']);
    const id = await ok(['run', '-d', '--network', 'audited', '-p', '127.0.0.1:80:80', BB, 'sleep', '30']);
    const trail = (type: string) => auditTrail(w, type);
    expect((await trail('network.created'))[0].payload).toMatchObject({ name: 'audited', driver: 'bridge' });
    expect((await trail('network.connected')).find((e) => e.subject === id)?.payload).toMatchObject({
      network: 'audited',
    });
    expect((await trail('network.published')).find((e) => e.subject === id)?.payload).toEqual({
      ports: [{ hostIp: '127.0.0.1', hostPort: 80, containerPort: 80, protocol: 'tcp' }],
    });
    await ok(['rm', '-f', id]);
    await ok(['network', 'rm', 'audited']);
    // The trail may not have this removal yet when it has an earlier one (the audit worker
    // writes in batches): wait for this one.
    await eventually('the removal of audited in the trail', async () =>
      (await trail('network.removed')).find((e) => e.payload.name === 'audited'),
    );
  });

  const eventuallyLogs = async (name: string, re: RegExp) => {
    for (let i = 0; i < 100; i++) {
      const out = await ok(['logs', name]);
      if (re.test(out)) return out;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`logs of ${name} never matched ${re}`);
  };

  it('a container restarted by its restart policy gets its network again: its address and its name', async () => {
    await ok(['network', 'create', '--subnet', '10.78.0.0/24', 'rnet']);
    await ok(['run', '-d', '--name', 'peer', '--network', 'rnet', BB, 'sleep', '300']);
    await ok([
      'run',
      '-d',
      '--name',
      'flap',
      '--network',
      'rnet',
      '--restart',
      'on-failure:1',
      BB,
      'sh',
      '-c',
      // aardvark-dns reloads its config as each run's endpoint is set up: a moment's retry.
      'ip -4 -o addr show eth0; for i in 1 2 3 4 5 6 7 8 9 10; do nslookup peer >/dev/null 2>&1 && echo resolved && break; sleep 0.3; done; exit 1',
    ]);
    await eventually(
      'the restart and its exit',
      async () => {
        const c = JSON.parse(await ok(['inspect', 'flap']))[0];
        return c.RestartCount === 1 && c.State.Status === 'exited' ? true : undefined;
      },
      30000,
    );
    const runs = (await ok(['logs', 'flap'])).split('\n');
    const addrs = runs.filter((l) => l.includes('inet ')).map((l) => /inet (10\.78\.0\.\d+)/.exec(l)?.[1]);
    expect(addrs).toHaveLength(2);
    expect(addrs[0]).toBeDefined();
    expect(addrs[1]).toBe(addrs[0]);
    expect(runs.filter((l) => l === 'resolved')).toHaveLength(2);
    await ok(['rm', '-f', 'flap', 'peer']);
    await ok(['network', 'rm', 'rnet']);
  });

  it('leaves nothing behind once the last container is gone', async () => {
    const now = w.footprint();
    // The bridges stay until their network is removed (as Docker's); veths, rules for the
    // containers and DNS entries go with the containers.
    expect(now.links.filter((l) => l.startsWith('veth'))).toEqual([]);
    expect(now.aardvark).toEqual([]);
  });
});
