import { isIPv6 } from 'node:net';

/**
 * IPv6 addresses and subnets as numbers, for checking what `docker network create --ipv6`
 * asks before PostgreSQL sees it (its `cidr` refuses host bits with a bare error). Addresses
 * with an embedded IPv4 part or a zone are not network addresses here.
 */
export interface Cidr6 {
  base: bigint;
  prefix: number;
}

export function parseAddress6(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes('.') || text.includes('%')) return undefined;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function parseCidr6(text: string): Cidr6 | { problem: string } {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  const base = m ? parseAddress6(m[1]) : undefined;
  if (!m || base === undefined) return { problem: `${text} is not an IPv6 CIDR such as fd00:1::/64` };
  const prefix = Number(m[2]);
  if (prefix > 128) return { problem: `${text}: the prefix must be 0-128` };
  if (base & hostMask(prefix))
    return {
      problem: `${text} has host bits set: use ${formatAddress6(base & ~hostMask(prefix))}/${prefix}`,
    };
  return { base, prefix };
}

const hostMask = (prefix: number) => (1n << BigInt(128 - prefix)) - 1n;

export const contains6 = (c: Cidr6, a: bigint) => (a & ~hostMask(c.prefix)) === c.base;

/** RFC 5952's form: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatAddress6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let len = 0;
    while (i + len < 8 && groups[i + len] === 0) len++;
    if (len > best.len) best = { at: i, len };
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
