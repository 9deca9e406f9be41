import { z } from 'zod';
import { text } from '../../platform/http';
import { contains, formatCidr, parseCidr, size, type Cidr } from '../../platform/ipv4';

/**
 * An egress allowlist (issue 16, point 4; Docker has none): where a container on a bridge
 * network may open connections or send datagrams. Each entry is `CIDR[:ports][/tcp|udp]`
 * (`10.0.0.0/8:443/tcp`, `192.168.1.5:53/udp`, `10.1.0.0/16:8000-8999`, `1.2.3.4`); an address
 * without a prefix is a /32, no ports is every port and protocol, ports without a protocol are
 * tcp and udp. Enforced in the kernel by src/network/egress.ts. REST asks with
 * `egress: [...]`; the docker CLI (no flag exists) with the label `warden.egress`, entries
 * separated by commas (an empty value: nothing but DNS and replies). The field wins.
 */
export const EGRESS_LABEL = 'warden.egress';

export interface EgressRule {
  /** The network, normalised: `a.b.c.d/n`. */
  cidr: string;
  /** Inclusive port range; absent = every port (and every protocol, ICMP included). */
  ports?: [number, number];
  /** Absent with ports: tcp and udp. */
  protocol?: 'tcp' | 'udp';
}

export const egressRequestFields = {
  egress: z
    .array(text(64))
    .max(256)
    .optional()
    .describe(
      'egress allowlist, e.g. ["10.0.0.0/8:443/tcp", "192.168.1.5:53/udp"]; everything else the container sends is dropped (DNS to its networks and replies excepted)',
    ),
};

const ENTRY_RE = /^([0-9.]+(?:\/\d{1,2})?)(?::(\d{1,5})(?:-(\d{1,5}))?)?(?:\/(tcp|udp))?$/;

/** One entry, or what is wrong with it. */
export function parseEgressEntry(entry: string): EgressRule | string {
  const m = ENTRY_RE.exec(entry.trim());
  const hint = 'must be CIDR[:port[-port]][/tcp|udp], e.g. 10.0.0.0/8:443/tcp';
  if (!m) return `${JSON.stringify(entry)} ${hint}`;
  const [, net, lo, hi, protocol] = m;
  const cidr = parseCidr(net.includes('/') ? net : `${net}/32`);
  if ('problem' in cidr) return cidr.problem;
  if (protocol && lo === undefined) return `${JSON.stringify(entry)}: a protocol needs ports (${hint})`;
  const rule: EgressRule = { cidr: formatCidr(cidr) };
  if (lo !== undefined) {
    const ports: [number, number] = [Number(lo), Number(hi ?? lo)];
    if (ports[0] < 1 || ports[1] > 65535 || ports[0] > ports[1])
      return `${JSON.stringify(entry)}: ports must be 1-65535, low to high`;
    rule.ports = ports;
  }
  if (protocol) rule.protocol = protocol as 'tcp' | 'udp';
  return rule;
}

export function formatEgress(r: EgressRule): string {
  const ports = r.ports ? `:${r.ports[0] === r.ports[1] ? r.ports[0] : `${r.ports[0]}-${r.ports[1]}`}` : '';
  return `${r.cidr.endsWith('/32') ? r.cidr.slice(0, -3) : r.cidr}${ports}${r.protocol ? `/${r.protocol}` : ''}`;
}

/** Entries into rules; each problem pushed naming `field[i]`. */
export function parseEgressList(field: string, entries: readonly string[], errors: string[]): EgressRule[] {
  const out: EgressRule[] = [];
  entries.forEach((e, i) => {
    const r = parseEgressEntry(e);
    if (typeof r === 'string') errors.push(`${field}[${i}]: ${r}`);
    else out.push(r);
  });
  return out;
}

/** The request's allowlist (field, else label) into the spec's `egress`. */
export function convertEgress(
  req: { egress?: string[]; labels?: Record<string, string> },
  spec: { egress?: EgressRule[] },
  errors: string[],
): void {
  const fromLabel = req.labels?.[EGRESS_LABEL];
  if (req.egress !== undefined) spec.egress = parseEgressList('egress', req.egress, errors);
  else if (fromLabel !== undefined)
    spec.egress = parseEgressList(
      `label ${EGRESS_LABEL}`,
      fromLabel.split(',').filter((e) => e.trim() !== ''),
      errors,
    );
}

const cidrOf = (r: EgressRule): Cidr => parseCidr(r.cidr) as Cidr;

/** Whether `outer` admits everything `inner` does: its network, ports and protocols. */
export function egressCovers(outer: EgressRule, inner: EgressRule): boolean {
  const o = cidrOf(outer);
  const i = cidrOf(inner);
  if (!contains(o, i.base) || !contains(o, i.base + size(i) - 1)) return false;
  if (!outer.ports) return true;
  if (!inner.ports) return false;
  if (inner.ports[0] < outer.ports[0] || inner.ports[1] > outer.ports[1]) return false;
  return !outer.protocol || outer.protocol === inner.protocol;
}
