import { DataSource } from 'typeorm';
import type { ExposureRow } from './compliance-report.types';

interface ExposureEvent {
  subject: string;
  type: string;
  payload: {
    name?: string;
    image?: string;
    network?: string;
    ports?: Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: string }>;
    spec?: { networkMode?: string; egressBps?: number; ingressBps?: number; egress?: RecordedEgress[] };
  };
}

/** An allowlist entry as the spec records it (policy/spec/egress.ts EgressRule). */
interface RecordedEgress {
  cidr: string;
  ports?: [number, number];
  protocol?: string;
}

const TYPES = ['container.created', 'network.connected', 'network.disconnected', 'network.published'];

/**
 * Each container's exposure in the window (issue 16, point 4), from the audit trail alone: the
 * networks it joined (and not left), the host ports it published (as bound, the last start's),
 * its bandwidth caps and its egress allowlist. Containers on no bridge network with nothing
 * published are left out.
 */
export async function exposureIn(ds: DataSource, from: Date, to: Date): Promise<ExposureRow[]> {
  const rows: ExposureEvent[] = await ds.query(
    `SELECT subject, type, payload FROM audit_events
      WHERE type = ANY($3) AND occurred_at >= $1 AND occurred_at < $2 ORDER BY seq`,
    [from, to, TYPES],
  );
  return exposureFrom(rows);
}

export function exposureFrom(events: ExposureEvent[]): ExposureRow[] {
  const byId = new Map<string, ExposureRow>();
  const row = (id: string) => {
    let r = byId.get(id);
    if (!r) byId.set(id, (r = { containerId: id, networks: [], published: [] }));
    return r;
  };
  for (const e of events) {
    const r = row(e.subject);
    const p = e.payload;
    if (e.type === 'container.created') {
      r.name = p.name;
      r.image = p.image;
      if (p.spec?.egressBps !== undefined) r.egressBps = p.spec.egressBps;
      if (p.spec?.ingressBps !== undefined) r.ingressBps = p.spec.ingressBps;
      if (p.spec?.egress !== undefined) r.egress = p.spec.egress.map(egressEntry);
    } else if (e.type === 'network.connected' && p.network && !r.networks.includes(p.network))
      r.networks.push(p.network);
    else if (e.type === 'network.disconnected') r.networks = r.networks.filter((n) => n !== p.network);
    else if (e.type === 'network.published')
      r.published = (p.ports ?? []).map((b) => `${b.hostIp}:${b.hostPort}->${b.containerPort}/${b.protocol}`);
  }
  return [...byId.values()].filter(
    (r) =>
      r.networks.length ||
      r.published.length ||
      r.egressBps !== undefined ||
      r.ingressBps !== undefined ||
      r.egress !== undefined,
  );
}

/** An entry as a user writes it (`10.0.0.0/8:443/tcp`, a /32 as its address): formatEgress's form. */
function egressEntry(r: RecordedEgress): string {
  const [lo, hi] = r.ports ?? [];
  const ports = lo === undefined ? '' : `:${lo === hi ? lo : `${lo}-${hi}`}`;
  return `${r.cidr.endsWith('/32') ? r.cidr.slice(0, -3) : r.cidr}${ports}${r.protocol ? `/${r.protocol}` : ''}`;
}

/** The allowlist in a CSV cell or the PDF: its entries, `unrestricted` without one, `none` when empty. */
export function egressAllowlistText(egress: string[] | undefined): string {
  if (egress === undefined) return 'unrestricted';
  return egress.length ? egress.join(' ') : 'none';
}
