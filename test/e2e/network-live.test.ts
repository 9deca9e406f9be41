import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  auditTrail,
  bindPolicy,
  dockerOk,
  loadBusybox,
  removeAllContainers,
  rest,
  startNetnsWarden,
  type NetnsWarden,
} from '../utils/netns-warden';
import { eventually } from '../utils/services';
import { processAlive } from '../utils/processes';

const BB = 'busybox:1.35';
const WEB = 'exposing:1';

/**
 * Networks changed under a running container (issue 16, points 1 and 3): `docker network
 * connect|disconnect` while it runs, and `-P` publishing the image's EXPOSE ports. Warden runs
 * in a network namespace of the test's own; nothing is made in the machine's.
 */
describe('live network changes (Warden in its own netns)', () => {
  let w: NetnsWarden;

  beforeAll(async () => {
    w = await startNetnsWarden();
    await loadBusybox(w);
    await loadBusybox(w, WEB, { exposedPorts: ['80/tcp', '53/udp'] });
  });
  afterAll(async () => {
    await w?.close();
  });
  // A failed test must not leave its containers to the next one's counts.
  afterEach(() => removeAllContainers(w));
  const ok = (args: string[]) => dockerOk(w)(args);
  const wget = (name: string, url: string) =>
    w.docker.run(['exec', name, 'timeout', '3', 'wget', '-q', '-O', '-', url]);
  const sh = (name: string, script: string) => ok(['exec', name, 'sh', '-c', script]);
  const veths = () => w.footprint().links.filter((l) => l.startsWith('veth'));

  it('connects a running container to a network and disconnects it: interface, address, name, /etc/hosts, audit', async () => {
    await ok(['network', 'create', '--subnet', '10.81.0.0/24', 'lfront']);
    await ok(['network', 'create', '--subnet', '10.82.0.0/24', 'lback']);
    await ok([
      'run',
      '-d',
      '--name',
      'db',
      '--network',
      'lback',
      BB,
      'sh',
      '-c',
      'echo db-here > /tmp/index.html; httpd -f -p 80 -h /tmp',
    ]);
    await ok([
      'run',
      '-d',
      '--name',
      'app',
      '--network',
      'lfront',
      '-p',
      '127.0.0.1:18500:80',
      BB,
      'sh',
      '-c',
      'echo app-here > /tmp/index.html; httpd -f -p 80 -h /tmp',
    ]);
    const before = w.footprint();
    expect(veths()).toHaveLength(2);
    // Not on lback yet: db's name does not resolve from app.
    const unreached = await wget('app', 'http://db/index.html');
    expect(unreached.code).not.toBe(0);

    await ok(['network', 'connect', '--alias', 'api', 'lback', 'app']);
    expect(veths()).toHaveLength(3);
    const inspect = JSON.parse(await ok(['inspect', 'app']))[0];
    expect(inspect.State.Running).toBe(true);
    expect(Object.keys(inspect.NetworkSettings.Networks).sort()).toEqual(['lback', 'lfront']);
    const backIp: string = inspect.NetworkSettings.Networks.lback.IPAddress;
    expect(backIp).toMatch(/^10\.82\.0\.\d+$/);
    expect(inspect.NetworkSettings.Networks.lback.Aliases).toEqual(['api']);
    // The new interface is in the running container's namespace, its address on it.
    expect(await sh('app', 'ip -4 -o addr show eth1')).toContain(`inet ${backIp}/24`);
    expect(await sh('app', 'cat /etc/hosts')).toMatch(new RegExp(`${backIp.replace(/\./g, '\\.')}\\s`));
    // Names over the network joined: db reaches app by its alias; app's resolv.conf names the
    // new network's aardvark-dns too, which answers db (aardvark-dns 1.4 answers each query with
    // the names of the network whose gateway it reached, so the first nameserver's come first).
    expect(await eventuallyOut('db', 'wget -q -O - http://api/index.html', /app-here/)).toMatch(/app-here/);
    expect(await sh('app', 'cat /etc/resolv.conf')).toBe(
      'search dns.podman\nnameserver 10.81.0.1\nnameserver 10.82.0.1',
    );
    const dbIp: string = JSON.parse(await ok(['inspect', 'db']))[0].NetworkSettings.Networks.lback.IPAddress;
    expect(
      await eventuallyOut('app', 'nslookup db 10.82.0.1', new RegExp(dbIp.replace(/\./g, '\\.'))),
    ).toContain(dbIp);
    expect(await sh('app', `wget -q -O - http://${dbIp}/index.html`)).toContain('db-here');
    // The published port still answers.
    expect(w.inNetns(['curl', '-sf', '-m', '3', 'http://127.0.0.1:18500/index.html']).stdout).toContain(
      'app-here',
    );
    expect(w.footprint().aardvark.join('\n')).toMatch(/app/);

    // A second connect to the same network: 409, and nothing changes.
    const again = await w.docker.run(['network', 'connect', 'lback', 'app']);
    expect(again.stderr).toMatch(/already connected to network lback/);
    expect(veths()).toHaveLength(3);

    await ok(['network', 'disconnect', 'lback', 'app']);
    const after = w.footprint();
    expect(after.links).toEqual(before.links);
    expect(after.rules).toBe(before.rules);
    expect(after.aardvark).toEqual(before.aardvark);
    expect((await sh('app', 'ip -4 -o addr')).includes('eth1')).toBe(false);
    expect(await sh('app', 'cat /etc/resolv.conf')).toBe('search dns.podman\nnameserver 10.81.0.1');
    expect(await sh('app', 'cat /etc/hosts')).not.toContain(backIp);
    expect(Object.keys(JSON.parse(await ok(['inspect', 'app']))[0].NetworkSettings.Networks)).toEqual([
      'lfront',
    ]);
    const gone = await wget('db', 'http://api/index.html');
    expect(gone.code).not.toBe(0);
    const notOn = await w.docker.run(['network', 'disconnect', 'lback', 'app']);
    expect(notOn.stderr).toMatch(/is not connected to network lback/);
    expect(w.inNetns(['curl', '-sf', '-m', '3', 'http://127.0.0.1:18500/index.html']).stdout).toContain(
      'app-here',
    );

    const events = await trail('network.disconnected');
    expect(events.find((e) => e.payload.network === 'lback')?.payload).toMatchObject({ running: true });
    expect(
      (await trail('network.connected')).find((e) => e.payload.network === 'lback' && e.payload.running)
        ?.payload,
    ).toMatchObject({
      address: backIp,
      aliases: ['api'],
    });

    // Connected while running, stopped: the stop tears every network down.
    await ok(['network', 'connect', 'lback', 'app']);
    await ok(['rm', '-f', 'app', 'db']);
    expect(veths()).toEqual([]);
    expect(w.footprint().aardvark).toEqual([]);
    await ok(['network', 'rm', 'lfront', 'lback']);
  });

  it('-P publishes the image EXPOSE ports on free host ports; docker port and inspect show them', async () => {
    expect(JSON.parse(await ok(['image', 'inspect', WEB]))[0].Config.ExposedPorts).toEqual({
      '80/tcp': {},
      '53/udp': {},
    });
    await ok([
      'run',
      '-d',
      '--name',
      'pall',
      '-P',
      '--expose',
      '8080',
      WEB,
      'sh',
      '-c',
      'echo p-all > /tmp/index.html; httpd -p 8080 -h /tmp; httpd -f -p 80 -h /tmp',
    ]);
    const port = await ok(['port', 'pall']);
    const hostPort = (key: string) => Number(new RegExp(`${key} -> 0\\.0\\.0\\.0:(\\d+)`).exec(port)?.[1]);
    expect(hostPort('80/tcp')).toBeGreaterThan(1023);
    expect(hostPort('53/udp')).toBeGreaterThan(1023);
    expect(hostPort('8080/tcp')).toBeGreaterThan(1023);
    for (const key of ['80/tcp', '8080/tcp'])
      expect(
        w.inNetns(['curl', '-sf', '-m', '3', `http://127.0.0.1:${hostPort(key)}/index.html`]).stdout,
      ).toContain('p-all');
    const inspect = JSON.parse(await ok(['inspect', 'pall']))[0];
    expect(Object.keys(inspect.NetworkSettings.Ports).sort()).toEqual(['53/udp', '80/tcp', '8080/tcp']);
    expect(inspect.HostConfig.PublishAllPorts).toBe(true);
    // Without -P, EXPOSE publishes nothing.
    await ok(['run', '-d', '--name', 'pnone', WEB, 'sleep', '30']);
    expect(await ok(['port', 'pnone'])).toBe('');
    expect(JSON.parse(await ok(['inspect', 'pnone']))[0].HostConfig.PublishAllPorts).toBe(false);
  });

  it('egress allowlist: kernel-enforced per container, judged by policy; connect is judged too', async () => {
    await ok(['network', 'create', '--subnet', '10.85.0.0/24', 'egnet']);
    await ok(['network', 'create', '--subnet', '10.86.0.0/24', 'egnet2']);
    await ok(['network', 'create', '--subnet', '10.87.0.0/24', 'offlimits']);
    await ok([
      'run',
      '-d',
      '--name',
      'srv',
      '--network',
      'egnet',
      '--ip',
      '10.85.0.10',
      BB,
      'sh',
      '-c',
      'echo srv-80 > /tmp/index.html; httpd -p 81 -h /tmp; httpd -f -p 80 -h /tmp',
    ]);
    const withSrv = w.footprint();
    bindPolicy(w, 'egress-lab', {
      network: { allowedNetworks: ['egnet', 'egnet2'], egress: { allowed: ['10.85.0.0/24:80/tcp'] } },
    });
    try {
      // Unrestricted, or asking beyond the policy: 403 naming the rule, nothing created.
      const open = await w.docker.run(['run', '--rm', '--network', 'egnet', BB, 'true']);
      expect(open.stderr).toMatch(/unrestricted egress is not allowed .*rule network\.egress\.allowed/);
      const wide = await w.docker.run([
        'run',
        '--rm',
        '--network',
        'egnet',
        '--label',
        'warden.egress=10.85.0.10:81/tcp',
        BB,
        'true',
      ]);
      expect(wide.stderr).toMatch(
        /egress to 10\.85\.0\.10:81\/tcp is not allowed .*rule network\.egress\.allowed/,
      );
      expect(await ok(['ps', '-aq'])).toBe((await ok(['ps', '-aq', '--filter', 'name=srv'])).trim());

      await ok([
        'run',
        '-d',
        '--name',
        'limited',
        '--network',
        'egnet',
        '--label',
        'warden.egress=10.85.0.10:80/tcp',
        BB,
        'sleep',
        '300',
      ]);
      const c = JSON.parse(await ok(['inspect', 'limited']))[0];
      expect(c.HostConfig.WardenEgress).toEqual(['10.85.0.10:80/tcp']);
      // The allowed address:port answers, by name too (DNS to the network's aardvark-dns);
      // the same server on another port is refused by the kernel at once (an ICMP
      // administratively-prohibited from the filter itself), not timed out.
      expect(await eventuallyOut('limited', 'wget -q -O - http://srv/index.html', /srv-80/)).toContain(
        'srv-80',
      );
      const denied = await w.docker.run([
        'exec',
        'limited',
        'wget',
        '-O',
        '/dev/null',
        'http://10.85.0.10:81/',
      ]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/No route to host/);
      // Unfiltered, srv itself reaches port 81: the drop is limited's filter, not the server.
      expect(await sh('srv', 'wget -q -O - http://10.85.0.10:81/index.html')).toContain('srv-80');
      const table = () => inContainerNetns(c.State.Pid, ['nft', 'list', 'table', 'inet', 'warden_egress']);
      expect(table()).toMatch(
        /counter packets [1-9]\d* bytes \d+ reject with icmpx admin-prohibited comment "warden: not in the egress allowlist/,
      );
      expect(table()).toContain('ip daddr 10.85.0.1 udp dport 53 accept');
      // The table is in the container's namespace: Warden's own holds no rule of it.
      expect(w.footprint().rules).toBe(withSrv.rules);

      // connect: the policy judges the network (403 with the rule, audited); an allowed one
      // joins, and its aardvark-dns is let through the filter while it is joined.
      const refused = await w.docker.run(['network', 'connect', 'offlimits', 'limited']);
      expect(refused.stderr).toMatch(/network offlimits is not allowed .*rule network\.allowedNetworks/);
      // Recorded before the answer; the trail shows it once the audit worker has written it.
      const denial = await eventually('the connect decision in the trail', async () => {
        const events = rest(w, 'GET', `/audit/events?type=policy.decision&subject=${c.Id}`).body
          .events as Array<{ decision: string; payload: { action: string; network: string } }>;
        return events.find((e) => e.payload.action === 'network.connect');
      });
      expect(denial).toMatchObject({ decision: 'denied', payload: { network: 'offlimits' } });
      expect(Object.keys(JSON.parse(await ok(['inspect', 'limited']))[0].NetworkSettings.Networks)).toEqual([
        'egnet',
      ]);
      await ok(['network', 'connect', 'egnet2', 'limited']);
      expect(table()).toContain('ip daddr 10.86.0.1 udp dport 53 accept');
      await ok(['network', 'disconnect', 'egnet2', 'limited']);
      expect(table()).not.toContain('10.86.0.1');

      // Its table went with its namespace: nothing of it to remove, nothing left.
      await ok(['rm', '-f', 'limited']);
      expect(processAlive(c.State.Pid)).toBe(false);
      expect(w.footprint()).toEqual(withSrv);
      await ok(['rm', '-f', 'srv']);
    } finally {
      rest(w, 'DELETE', '/policies/egress-lab/bindings?kind=principal&value=docker-root');
    }
    await ok(['network', 'rm', 'egnet', 'egnet2', 'offlimits']);
  });

  /** A command in a container's own network namespace, from outside it (as root). */
  const inContainerNetns = (pid: number, cmd: string[]) => {
    const ns = fs.readlinkSync(`/proc/${pid}/ns/net`);
    if (ns === fs.readlinkSync('/proc/self/ns/net') || ns === fs.readlinkSync(w.netns))
      throw new Error('refusing: not the container namespace');
    const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...cmd], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  const eventuallyOut = async (name: string, script: string, re: RegExp) => {
    let last = '';
    for (let i = 0; i < 30; i++) {
      const r = await w.docker.run(['exec', name, 'sh', '-c', script]);
      last = r.stdout + r.stderr;
      if (re.test(last)) return last;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`${name}: ${script} never matched ${re}: ${last}\n${w.footprint().aardvark.join('\n')}`);
  };

  const trail = (type: string) => auditTrail(w, type);
});
