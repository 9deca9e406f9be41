import { z } from 'zod';

/** One published port: `hostIp` '' = every address (Docker's 0.0.0.0); `hostPort` 0 = any free port. */
export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export const publishInputSchema = z.union(
  [
    z.string().max(128),
    z.strictObject({
      hostIp: z.string().max(64).optional(),
      hostPort: z.number().int().optional(),
      containerPort: z.number().int(),
      protocol: z.enum(['tcp', 'udp']).optional(),
    }),
  ],
  {
    error:
      'must be "[ip:][hostPort:]containerPort[/tcp|udp]" or {containerPort, hostPort?, hostIp?, protocol?}',
  },
);
export type PublishInput = z.infer<typeof publishInputSchema>;

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const RANGE_RE = /^(\d{1,5})(?:-(\d{1,5}))?$/;
/** Docker publishes at most this many ports per range (a typo such as 1-65535 would be costly). */
const MAX_RANGE = 1024;

function range(text: string): [number, number] | undefined {
  const m = RANGE_RE.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return hi < lo || hi > 65535 ? undefined : [lo, hi];
}

/**
 * `docker run -p`'s syntax, as the Docker CLI reads it (opts.ParsePortSpec): `[ip:][hostPort:]
 * containerPort[/proto]`, each port possibly a range `a-b`; a host range must be as long as the
 * container range. Returns the bindings, or a problem naming what is wrong.
 */
export function parsePublish(input: PublishInput): PublishedPort[] | string {
  if (typeof input !== 'string') {
    const hostIp = input.hostIp === '0.0.0.0' ? '' : (input.hostIp ?? '');
    if (hostIp && !IPV4_RE.test(hostIp))
      return `hostIp ${JSON.stringify(input.hostIp)} is not an IPv4 address`;
    const hostPort = input.hostPort ?? 0;
    if (input.containerPort < 1 || input.containerPort > 65535)
      return `containerPort ${input.containerPort} is not 1-65535`;
    if (hostPort < 0 || hostPort > 65535) return `hostPort ${hostPort} is not 0-65535`;
    return [{ hostIp, hostPort, containerPort: input.containerPort, protocol: input.protocol ?? 'tcp' }];
  }
  const [spec, proto = 'tcp', ...more] = input.split('/');
  if (more.length || (proto !== 'tcp' && proto !== 'udp'))
    return `${JSON.stringify(input)}: protocol must be tcp or udp`;
  const parts = spec.split(':');
  if (parts.length > 3) return `${JSON.stringify(input)} must be [ip:][hostPort:]containerPort[/tcp|udp]`;
  const container = range(parts[parts.length - 1]);
  const hostText = parts.length >= 2 ? parts[parts.length - 2] : '';
  const rawIp = parts.length === 3 ? parts[0] : '';
  const hostIp = rawIp === '0.0.0.0' ? '' : rawIp;
  if (!container || container[0] === 0)
    return `${JSON.stringify(input)}: container port must be 1-65535 or a range a-b`;
  if (hostIp && !IPV4_RE.test(hostIp)) return `${JSON.stringify(input)}: ${rawIp} is not an IPv4 address`;
  const host = hostText === '' ? undefined : range(hostText);
  if (hostText !== '' && !host) return `${JSON.stringify(input)}: host port must be 0-65535 or a range a-b`;
  const count = container[1] - container[0] + 1;
  if (count > MAX_RANGE) return `${JSON.stringify(input)}: at most ${MAX_RANGE} ports per range`;
  if (host && host[1] - host[0] + 1 !== count && !(host[0] === host[1] && count === 1))
    return `${JSON.stringify(input)}: the host range and the container range differ in length`;
  const out: PublishedPort[] = [];
  for (let i = 0; i < count; i++)
    out.push({ hostIp, hostPort: host ? host[0] + i : 0, containerPort: container[0] + i, protocol: proto });
  return out;
}

/** `docker port`'s and inspect's key: `80/tcp`. */
export const portKey = (p: Pick<PublishedPort, 'containerPort' | 'protocol'>) =>
  `${p.containerPort}/${p.protocol}`;
