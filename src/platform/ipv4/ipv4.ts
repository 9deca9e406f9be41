/**
 * IPv4 arithmetic for subnets and addresses (IPv6 networks are not offered yet). Pure: the
 * network module's allocator itself is SQL (src/network/ipam.repository.ts); this checks what
 * users give and derives defaults (a gateway, the next free /24 of the pool), and the policy
 * reads egress allowlists (CIDRs) with it.
 */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const ADDRESS_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseAddress(text: string): number | undefined {
  const m = ADDRESS_RE.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255) || m.slice(1).some((o) => o.length > 1 && o.startsWith('0')))
    return undefined;
  return octets.reduce((a, o) => a * 256 + o, 0);
}

export function formatAddress(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** `a.b.c.d/n`; host bits must be zero, as Docker requires for --subnet and --ip-range. */
export function parseCidr(text: string): Cidr | { problem: string } {
  const slash = text.indexOf('/');
  const base = parseAddress(slash < 0 ? text : text.slice(0, slash));
  const prefix = slash < 0 ? NaN : Number(text.slice(slash + 1));
  if (base === undefined || !/^\d{1,2}$/.test(text.slice(slash + 1)) || prefix > 32)
    return { problem: `'${text}' is not an IPv4 network in CIDR form (a.b.c.d/n)` };
  if (base % size({ base: 0, prefix }) !== 0)
    return {
      problem: `'${text}' has host bits set: use ${formatCidr({ base: base - (base % size({ base: 0, prefix })), prefix })}`,
    };
  return { base, prefix };
}

export const formatCidr = (c: Cidr) => `${formatAddress(c.base)}/${c.prefix}`;
export const size = (c: Cidr) => 2 ** (32 - c.prefix);
export const contains = (c: Cidr, address: number) => address >= c.base && address < c.base + size(c);
export const overlaps = (a: Cidr, b: Cidr) => a.base < b.base + size(b) && b.base < a.base + size(a);
/** Inside the subnet and neither its network nor its broadcast address. */
export const isHostOf = (c: Cidr, address: number) =>
  contains(c, address) && address !== c.base && address !== c.base + size(c) - 1;
