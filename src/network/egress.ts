import { spawn } from 'node:child_process';
import type { NetavarkOptions } from './netavark';

/** One allowlist entry as the policy's spec has it (src/policy/spec/egress.ts). */
export interface EgressAllow {
  cidr: string;
  ports?: [number, number];
  protocol?: 'tcp' | 'udp';
}

export const EGRESS_TABLE = 'warden_egress';
/** The comment on the drop rule: what a reader of `nft list ruleset` (or a denial) is pointed to. */
export const EGRESS_DROP_COMMENT = 'warden: not in the egress allowlist (policy rule network.egress.allowed)';

/**
 * A container's egress allowlist, enforced in the kernel (issue 16, point 4): one nft table in
 * the container's own network namespace, whose output chain lets through loopback, replies
 * (conntrack established/related: a published port's answers, an allowed connection's
 * packets), DNS to the aardvark-dns of each of its networks (their gateways), and the
 * allowlist, and drops the rest, counted, with an ICMP "administratively prohibited" to the
 * sender: its connect() or send() fails at once (EHOSTUNREACH, "No route to host") rather
 * than waiting out TCP's retransmissions (a plain drop of a SYN in the output path is
 * retried, silently, until the client's timeout). Nothing of it leaves the container.
 *
 *   container ─ socket ─► output hook: table inet warden_egress
 *                           lo │ established │ DNS to gateways │ allowlist ─► eth0 ─► veth ─► bridge
 *                           else: counter reject (admin-prohibited, to the sender itself)
 *
 * Why the container's namespace and not the host side of its veth: every packet it sends
 * passes there (to another container on the same bridge too, which a host-side rule sees only
 * with br_netfilter), conntrack marks replies without a second table, and the table lives and
 * dies with the namespace: a stopped container, or one whose process ended while Warden was
 * down, leaves nothing to remove. Its process could remove the table only with CAP_NET_ADMIN,
 * which the policy's egress check refuses beside an allowlist.
 */
export function egressRuleset(allow: readonly EgressAllow[], dnsServers: readonly string[]): string {
  const rules = [
    'oifname "lo" accept',
    'ct state established,related accept',
    ...dnsServers.flatMap((d) => [`ip daddr ${d} udp dport 53 accept`, `ip daddr ${d} tcp dport 53 accept`]),
    ...allow.map(allowRule),
    `counter reject with icmpx admin-prohibited comment "${EGRESS_DROP_COMMENT}"`,
  ];
  // Declared, deleted and made again in one transaction: the new rules replace any old ones
  // atomically (a connect or disconnect while it runs), with no moment without a filter.
  return [
    `table inet ${EGRESS_TABLE}`,
    `delete table inet ${EGRESS_TABLE}`,
    `table inet ${EGRESS_TABLE} {`,
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function allowRule(a: EgressAllow): string {
  const to = `ip daddr ${a.cidr}`;
  if (!a.ports) return `${to} accept`;
  const ports = a.ports[0] === a.ports[1] ? `${a.ports[0]}` : `${a.ports[0]}-${a.ports[1]}`;
  return a.protocol
    ? `${to} ${a.protocol} dport ${ports} accept`
    : `${to} meta l4proto { tcp, udp } th dport ${ports} accept`;
}

/** The aardvark-dns addresses a container's networks answer on: the gateways of those with DNS. */
export function dnsServersOf(options: NetavarkOptions): string[] {
  return Object.values(options.network_info)
    .filter((n) => n.dns_enabled)
    .map((n) => n.subnets[0].gateway);
}

/** Loads the ruleset into the namespace open as `netnsFd` (`nft -f -` through nsenter). */
export function applyEgress(
  netnsFd: number,
  allow: readonly EgressAllow[],
  options: NetavarkOptions,
): Promise<void> {
  const script = egressRuleset(allow, dnsServersOf(options));
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['--net=/proc/self/fd/3', '--', 'nft', '-f', '-'], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['pipe', 'ignore', 'pipe', netnsFd],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`nft: ${e.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`egress rules: nft: ${err.trim() || `exit ${code}`}`)),
    );
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(script);
  });
}
