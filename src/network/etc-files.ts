import * as fs from 'node:fs';
import type { Endpoint, NetworkedContainer, NetworkRecord } from './network';

/** Where a container's network lives on the host, beside its other files. */
export interface ContainerNetworkFiles {
  /** The container's directory: the netavark options sent at setup are kept here for teardown. */
  dir: string;
  hosts: string;
  resolvConf: string;
}

/**
 * /etc/hosts names the container on each of its addresses (as Docker writes it); resolv.conf
 * points at aardvark-dns on each network that has it (its gateway), else the host's
 * resolver. Written in place: the files are bind-mounted, possibly already (a running
 * container connected to one more network sees the change at once).
 */
export function writeEtc(
  c: Pick<NetworkedContainer, 'hostname' | 'name'>,
  networks: NetworkRecord[],
  endpoints: Endpoint[],
  files: Pick<ContainerNetworkFiles, 'hosts' | 'resolvConf'>,
): void {
  fs.writeFileSync(files.hosts, hostsFile(c, endpoints), { mode: 0o644 });
  // aardvark-dns answers a query with the names of the network whose gateway it came to: one
  // nameserver per network with DNS (as podman writes it), in the order the container joined.
  const dns = endpoints
    .map((e) => networks.find((n) => n.id === e.networkId && n.dnsEnabled))
    .filter((n): n is NetworkRecord => !!n);
  let resolv = '';
  if (dns.length)
    resolv = `search dns.podman\n${[...new Set(dns.map((n) => `nameserver ${n.gateway}\n`))].join('')}`;
  else if (endpoints.length) {
    try {
      resolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      resolv = '';
    }
  }
  fs.writeFileSync(files.resolvConf, resolv, { mode: 0o644 });
}

export function hostsFile(c: Pick<NetworkedContainer, 'hostname' | 'name'>, endpoints: Endpoint[]): string {
  const names = [...new Set([c.hostname, c.name])].join(' ');
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(endpoints.length
      ? endpoints.flatMap((e) =>
          [e.address, ...(e.address6 ? [e.address6] : [])].map((a) => `${a}\t${names}`),
        )
      : [`127.0.1.1\t${c.hostname}`]),
    '',
  ].join('\n');
}
