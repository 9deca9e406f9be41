import { hostBinaryImage } from '../fixtures/images/host-binary-image';
import {
  dockerOk,
  loadImage,
  removeAllContainers,
  startNetnsWarden,
  type NetnsWarden,
} from '../utils/netns-warden';

const IPERF = 'iperf3:host';
const CAP = 10_000_000;

/**
 * Bandwidth caps (issue 16, point 5): `warden.bandwidth.egress|ingress` on a container, applied
 * with tc on the host side of its veth, measured with iperf3 (Debian's, run in the container
 * from a layer of the host's own binary) between Warden's namespace and the container. Warden
 * runs in a network namespace of the test's own.
 */
describe('bandwidth caps (Warden in its own netns)', () => {
  let w: NetnsWarden;

  beforeAll(async () => {
    w = await startNetnsWarden();
    await loadImage(w, await hostBinaryImage(['/usr/bin/iperf3']), IPERF);
  });
  afterAll(async () => {
    await w?.close();
  });
  afterEach(() => removeAllContainers(w));
  const ok = (args: string[]) => dockerOk(w)(args);

  /**
   * iperf3 from Warden's namespace to the container: bits/s received, `reverse` = the container
   * sending. The server takes one client at a time and can still be finishing the readiness
   * probe's connection ("the server is busy"): such a refusal is tried again, and any other
   * is the failure, in iperf3's words.
   */
  const measure = async (address: string, reverse: boolean, seconds = 4): Promise<number> => {
    const time = ['-t', String(seconds), '-O', seconds > 1 ? '1' : '0'];
    for (let attempt = 1; ; attempt++) {
      const r = w.inNetns(['iperf3', '-c', address, ...time, '-J', ...(reverse ? ['-R'] : [])], {
        timeoutMs: 30000,
        allowFail: true,
      });
      const report = JSON.parse(r.stdout) as {
        error?: string;
        end?: { sum_received?: { bits_per_second: number } };
      };
      const bps = report.end?.sum_received?.bits_per_second;
      if (bps !== undefined) return bps;
      if (attempt >= 5 || !/busy|connect/i.test(report.error ?? ''))
        throw new Error(`iperf3 to ${address}: ${report.error ?? r.stdout.slice(0, 300)}`);
      await new Promise((done) => setTimeout(done, 500));
    }
  };
  const serve = async (name: string, labels: string[]) => {
    await ok(['run', '-d', '--name', name, '--network', 'bw', ...labels, IPERF, 'iperf3', '-s']);
    const ip: string = JSON.parse(await ok(['inspect', name]))[0].NetworkSettings.Networks.bw.IPAddress;
    // iperf3 -s listens a moment after the start.
    for (let i = 0; i < 50; i++) {
      if (w.inNetns(['sh', '-c', `nc -z -w 1 ${ip} 5201`], { allowFail: true }).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return ip;
  };

  it('caps what a container receives and what it sends at 10 Mbit/s, within 10%; nothing left after rm', async () => {
    await ok(['network', 'create', 'bw']);
    const free = await serve('free', []);
    // Uncapped, the same path runs far above the cap: the cap is what the capped run measures.
    // One second shows that (the capped runs need four to measure within 10%).
    const uncapped = await measure(free, false, 1);
    expect(uncapped).toBeGreaterThan(5 * CAP);
    await ok(['rm', '-f', 'free']);
    // The network's own rules stay while it exists (as Docker's): counted from here.
    const empty = w.footprint();

    const ip = await serve('capped', [
      '--label',
      'warden.bandwidth.ingress=10mbit',
      '--label',
      'warden.bandwidth.egress=10mbit',
    ]);
    const inspect = JSON.parse(await ok(['inspect', 'capped']))[0];
    expect(inspect.HostConfig.WardenBandwidth).toEqual({ EgressBps: CAP, IngressBps: CAP });
    const running = w.footprint();
    expect(running.links.filter((l) => l.startsWith('wfb'))).toEqual([`wfb0-${inspect.Id.slice(0, 10)}`]);
    const ingress = await measure(ip, false);
    const egress = await measure(ip, true);
    console.log(
      `uncapped ${(uncapped / 1e6).toFixed(1)} Mbit/s; capped 10mbit: ingress ${(ingress / 1e6).toFixed(2)}, egress ${(egress / 1e6).toFixed(2)} Mbit/s`,
    );
    expect(Math.abs(ingress - CAP) / CAP).toBeLessThan(0.1);
    expect(Math.abs(egress - CAP) / CAP).toBeLessThan(0.1);

    await ok(['rm', '-f', 'capped']);
    const after = w.footprint();
    expect(after.links).toEqual(empty.links);
    expect(after.rules).toBe(empty.rules);
    await ok(['network', 'rm', 'bw']);
  });

  it('a rate that is not one, or a cap on network none, is a clear 400 and creates nothing', async () => {
    const bad = await w.docker.run(['create', '--label', 'warden.bandwidth.egress=fast', IPERF, 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/label warden\.bandwidth\.egress: "fast" must be a rate such as 10mbit/);
    const none = await w.docker.run([
      'create',
      '--network',
      'none',
      '--label',
      'warden.bandwidth.ingress=1mbit',
      IPERF,
      'true',
    ]);
    expect(none.stderr).toMatch(/bandwidth: caps apply on a bridge network, not with network none/);
    expect(await ok(['ps', '-aq'])).toBe('');
  });
});
