import { spawn } from 'node:child_process';

/** A container's network rate caps, bits/s: what it sends (egress) and what it receives (ingress). */
export interface BandwidthCaps {
  egressBps?: number;
  ingressBps?: number;
}

export const hasCaps = (c: BandwidthCaps | undefined): c is BandwidthCaps =>
  !!c && (c.egressBps !== undefined || c.ingressBps !== undefined);

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Rate caps with `tc` on the host side of a container's veth (in Warden's namespace, where
 * netavark made it), Docker having none:
 *
 *   container eth0 ══ veth (host side) ─► bridge          ingress cap: tbf as the veth's root
 *                       │ ingress qdisc                   qdisc (what the host sends into it)
 *                       └─ u32 match-all ─ mirred ─► ifb  egress cap: what the container sends
 *                                                    └ tbf arrives as the veth's ingress, which
 *                                                          cannot queue: redirected to an ifb
 *                                                          device whose root tbf can
 *
 * (This kernel has no police action; an ifb with tbf shapes rather than drops, which TCP
 * follows closely.) The veth's qdiscs go with the veth at teardown; the ifb is Warden's own
 * link and is deleted by name: `wfb<N>-<id[0:10]>` for the container's ethN.
 */
export class Bandwidth {
  /** Caps the host side of the container's `ifname` (in the namespace open as `netnsFd`). */
  async apply(containerId: string, netnsFd: number, ifname: string, caps: BandwidthCaps): Promise<void> {
    const veth = await hostPeer(netnsFd, ifname);
    if (caps.ingressBps !== undefined)
      await run('tc', ['qdisc', 'replace', 'dev', veth, 'root', ...tbf(caps.ingressBps)]);
    if (caps.egressBps !== undefined) {
      const ifb = ifbName(containerId, ifname);
      await run('ip', ['link', 'add', ifb, 'type', 'ifb']);
      await run('ip', ['link', 'set', ifb, 'up']);
      await run('tc', ['qdisc', 'replace', 'dev', ifb, 'root', ...tbf(caps.egressBps)]);
      await run('tc', ['qdisc', 'add', 'dev', veth, 'handle', 'ffff:', 'ingress']);
      await run('tc', [
        'filter',
        'add',
        'dev',
        veth,
        'parent',
        'ffff:',
        'protocol',
        'all',
        'u32',
        'match',
        'u32',
        '0',
        '0',
        'action',
        'mirred',
        'egress',
        'redirect',
        'dev',
        ifb,
      ]);
    }
  }

  /** Deletes the container's ifb devices: all of them, or the one for `ifname`. Idempotent. */
  async remove(containerId: string, ifname?: string): Promise<void> {
    const suffix = `-${containerId.slice(0, 10)}`;
    const links = JSON.parse((await run('ip', ['-j', 'link', 'show', 'type', 'ifb'])) || '[]') as Array<{
      ifname: string;
    }>;
    for (const l of links)
      if (
        ifname
          ? l.ifname === ifbName(containerId, ifname)
          : l.ifname.startsWith('wfb') && l.ifname.endsWith(suffix)
      )
        await run('ip', ['link', 'del', l.ifname]).catch(() => undefined); // gone meanwhile
  }
}

export function ifbName(containerId: string, ifname: string): string {
  return `wfb${ifname.replace(/^eth/, '')}-${containerId.slice(0, 10)}`;
}

/**
 * tbf at `bps`: a burst of 50 ms at the rate (at least 16 KiB), so that a dequeue the kernel
 * runs late on a busy host still finds the tokens it accrued (a 10 ms burst measured 9-10%
 * under the cap at a load of 12 on 2 cores); at most 100 ms of queue before drops. The long-run
 * rate is the cap either way: a burst only lets the first packets through at once.
 */
export function tbf(bps: number): string[] {
  const burst = Math.max(16 * 1024, Math.ceil((bps / 8) * 0.05));
  return ['tbf', 'rate', `${bps}bit`, 'burst', String(burst), 'latency', '100ms'];
}

/** The host-side veth of the container's `ifname`: its peer's ifindex, looked up in Warden's namespace. */
async function hostPeer(netnsFd: number, ifname: string): Promise<string> {
  const inside = JSON.parse(
    await run('nsenter', ['--net=/proc/self/fd/3', '--', 'ip', '-j', 'link', 'show', 'dev', ifname], netnsFd),
  ) as Array<{ link_index?: number }>;
  const peer = inside[0]?.link_index;
  if (peer === undefined) throw new Error(`${ifname} in the container has no veth peer`);
  const host = JSON.parse(await run('ip', ['-j', 'link', 'show'])) as Array<{
    ifindex: number;
    ifname: string;
  }>;
  const veth = host.find((l) => l.ifindex === peer)?.ifname;
  if (!veth) throw new Error(`the host side of ${ifname} (ifindex ${peer}) is not in Warden's namespace`);
  return veth;
}

/** Runs a host tool; `netnsFd` goes as the child's fd 3 (for `nsenter --net=/proc/self/fd/3`). */
function run(cmd: string, args: string[], netnsFd?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
    if (netnsFd !== undefined) stdio.push(netnsFd);
    const child = spawn(cmd, args, { env: ENV, stdio });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`)),
    );
  });
}
