import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Endpoint, NetworkRecord, PortBinding } from './network';

/**
 * netavark's per-container options (its `NetworkOptions`, as netavark 1.4 reads them from
 * stdin): one `setup` makes the bridge, the veth into the container's namespace, its address,
 * NAT, isolation between networks, the port forwards and the aardvark-dns entries; the same
 * JSON given to `teardown` removes them. Pure: golden-tested in netavark.spec.ts.
 */
export interface NetavarkOptions {
  container_id: string;
  container_name: string;
  port_mappings: Array<{
    host_ip: string;
    container_port: number;
    host_port: number;
    range: number;
    protocol: 'tcp' | 'udp';
  }>;
  networks: Record<string, { static_ips: string[]; aliases: string[]; interface_name: string }>;
  network_info: Record<
    string,
    {
      name: string;
      id: string;
      driver: 'bridge';
      network_interface: string;
      subnets: Array<{ subnet: string; gateway: string; lease_range?: { start_ip: string; end_ip: string } }>;
      ipv6_enabled: boolean;
      internal: boolean;
      dns_enabled: boolean;
      ipam_options: { driver: 'host-local' };
    }
  >;
}

export interface Attachment {
  network: NetworkRecord;
  endpoint: Endpoint;
}

/**
 * The options for one container on its bridge networks: eth0, eth1… in the order given (the
 * first is where the default route goes), its name and aliases for aardvark-dns, and its
 * published ports (netavark forwards them from every network's address, so they go once).
 */
export function netavarkOptions(
  container: { id: string; name: string },
  attachments: Attachment[],
  ports: PortBinding[],
): NetavarkOptions {
  const networks: NetavarkOptions['networks'] = {};
  const info: NetavarkOptions['network_info'] = {};
  attachments.forEach(({ network: n, endpoint: e }, i) => {
    if (n.driver !== 'bridge' || !n.subnet || !n.gateway || !n.interface)
      throw new Error(`network ${n.name} is not a bridge network`);
    networks[n.name] = {
      static_ips: e.address6 ? [e.address, e.address6] : [e.address],
      // Docker answers a container's name and its aliases on every user-defined network.
      aliases: n.dnsEnabled ? [...new Set([container.name, ...e.aliases])] : [],
      interface_name: `eth${i}`,
    };
    info[n.name] = {
      name: n.name,
      id: n.id,
      driver: 'bridge',
      network_interface: n.interface,
      subnets: [
        { subnet: n.subnet, gateway: n.gateway },
        ...(n.subnet6 && n.gateway6 ? [{ subnet: n.subnet6, gateway: n.gateway6 }] : []),
      ],
      ipv6_enabled: !!n.subnet6,
      internal: n.internal,
      dns_enabled: n.dnsEnabled,
      ipam_options: { driver: 'host-local' },
    };
  });
  return {
    container_id: container.id,
    container_name: container.name,
    port_mappings: ports.map((p) => ({
      host_ip: p.hostIp === '0.0.0.0' ? '' : p.hostIp,
      container_port: p.containerPort,
      host_port: p.hostPort,
      range: 1,
      protocol: p.protocol,
    })),
    networks,
    network_info: info,
  };
}

export class NetavarkError extends Error {
  override readonly name = 'NetavarkError';
}

/**
 * netavark itself, run as a child of Warden (so in Warden's network namespace: that is the
 * "host" its bridges and rules are made in). Its config dir must exist before a setup: a
 * setup without it fails after the bridge and NAT rules exist.
 */
export class Netavark {
  readonly configDir: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly binary: string,
    dataDir: string,
  ) {
    this.configDir = path.join(dataDir, 'network', 'netavark');
  }

  /** Sets the container's namespace (an fd open on its nsfs file) up; the JSON netavark answered. */
  async setup(netnsFd: number, options: NetavarkOptions): Promise<unknown> {
    fs.mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
    const out = await this.run('setup', netnsFd, options);
    try {
      return JSON.parse(out) as unknown;
    } catch {
      return {};
    }
  }

  async teardown(netnsFd: number | undefined, options: NetavarkOptions): Promise<void> {
    await this.run('teardown', netnsFd, options);
  }

  /** `netavark --version`, e.g. "netavark 1.4.0"; undefined when it cannot run. */
  static version(binary: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', () => resolve(undefined));
      child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
    });
  }

  /**
   * One netavark at a time: two setups on a new network at once race to make its bridge and
   * its aardvark-dns config, and one fails (seen with docker-compose starting two services).
   */
  private run(
    verb: 'setup' | 'teardown',
    netnsFd: number | undefined,
    options: NetavarkOptions,
  ): Promise<string> {
    const turn = this.queue.then(() => this.runNow(verb, netnsFd, options));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async runNow(
    verb: 'setup' | 'teardown',
    netnsFd: number | undefined,
    options: NetavarkOptions,
  ): Promise<string> {
    if (netnsFd !== undefined) return this.exec(verb, netnsFd, options);
    // The container's namespace is gone (Warden restarted since its start, so the fd that kept
    // it is too; its veth died with it): an empty namespace of a short-lived child stands in,
    // and the teardown still removes the rules, the port forwards and the DNS entries.
    const holder = spawn('unshare', ['-n', '--', 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.once('spawn', resolve);
        holder.once('error', reject);
      });
      // unshare execs cat once the namespace exists: wait for that, not just for the spawn.
      const own = fs.readlinkSync('/proc/self/ns/net');
      for (let i = 0; i < 100 && fs.readlinkSync(`/proc/${holder.pid}/ns/net`) === own; i++)
        await new Promise((r) => setTimeout(r, 5));
      const fd = fs.openSync(`/proc/${holder.pid}/ns/net`, 'r');
      try {
        return await this.exec(verb, fd, options);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      holder.stdin!.end();
      holder.kill();
    }
  }

  private exec(verb: 'setup' | 'teardown', netnsFd: number, options: NetavarkOptions): Promise<string> {
    // The namespace goes as the child's fd 3, so its path is the child's own /proc/self/fd/3:
    // no bind mount that could outlive Warden.
    const args = ['--config', this.configDir, verb, '/proc/self/fd/3'];
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe', netnsFd], env: ENV });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      child.on('error', (e) => reject(new NetavarkError(`netavark ${verb}: ${e.message}`)));
      child.on('close', (code) =>
        code === 0
          ? resolve(out)
          : reject(new NetavarkError(`netavark ${verb} failed: ${lastLine(err) || `exit ${code}`}`)),
      );
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(JSON.stringify(options));
    });
  }
}

// The iptables driver, named: with a D-Bus address netavark would look for firewalld first.
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', NETAVARK_FW: 'iptables' };

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  // netavark prints `{"error":"…"}` on stderr for its own errors.
  try {
    return (JSON.parse(last) as { error?: string }).error ?? last;
  } catch {
    return last;
  }
}
