import { Inject, Injectable, Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { EVERYTHING, scopeOf, type Scope } from '../platform/scope';
import { Netavark, netavarkOptions, type Attachment, type NetavarkOptions } from './netavark';
import type { Endpoint, EndpointRequest, NetworkedContainer, NetworkRecord, PortBinding } from './network';
import { NetworkService } from './network.service';
import { PortHolder } from './port-holder';

/** Where a container's network lives on the host, beside its other files. */
export interface ContainerNetworkFiles {
  /** The container's directory: the netavark options sent at setup are kept here for teardown. */
  dir: string;
  hosts: string;
  resolvConf: string;
}

interface Attached {
  /** Keeps the container's namespace (and so its veth) alive until the teardown. */
  netnsFd: number;
  options: NetavarkOptions;
  ports: PortBinding[];
}

const OPTIONS_FILE = 'netavark.json';

/**
 * The runtime's one hook into networking. At create, `allocate` gives the container its
 * addresses and writes its /etc/hosts and /etc/resolv.conf; at start, between the shim's PID
 * report and the go (the init sits in its own, empty network namespace then), `attach` runs
 * `netavark setup`; when the process has ended, `detach` runs `netavark teardown` with the
 * options setup was given (kept in the container's dir, so a restarted Warden can still tear
 * down). A setup that fails is torn down at once: netavark's setup is not atomic.
 */
@Injectable()
export class NetworkAttacher {
  private readonly log = new Logger('network');
  private readonly netavark: Netavark;
  private readonly attached = new Map<string, Attached>();
  private readonly ports = new PortHolder();

  constructor(
    private readonly networks: NetworkService,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    this.netavark = new Netavark(config.network.netavark, config.dataDir);
  }

  /** The bridge networks a container with this mode and these endpoints joins; none for none/host. */
  async plan(
    c: Pick<NetworkedContainer, 'networkMode' | 'endpoints' | 'ports'>,
    scope: Scope,
  ): Promise<NetworkRecord[]> {
    const names = [...new Set([c.networkMode, ...Object.keys(c.endpoints)])].filter(
      (n) => n !== 'none' && n !== 'host',
    );
    if (names.length === 0) return [];
    if (!this.networks.enabled)
      throw new WardenError(
        'NETWORK_DISABLED',
        `network '${names[0]}' needs bridge networking, which is off on this Warden (WARDEN_NETWORKING=bridge turns it on): use --network none or host`,
      );
    const found = await Promise.all(names.map((n) => this.networks.get(n, scope)));
    for (const n of found)
      if (n.driver !== 'bridge')
        throw new WardenError(
          'VALIDATION_FAILED',
          `network ${n.name} cannot be combined with other networks: a container on ${n.name} has no other`,
        );
    return found;
  }

  /** Addresses on each planned network, and the /etc files that name them. Run once the container's row exists. */
  async allocate(
    caller: Caller,
    c: NetworkedContainer,
    planned: NetworkRecord[],
    files: ContainerNetworkFiles,
    requests: Record<string, EndpointRequest> = c.endpoints,
  ): Promise<Endpoint[]> {
    const endpoints: Endpoint[] = [];
    for (const n of planned) {
      const req: EndpointRequest = requests[n.name] ?? {};
      endpoints.push(await this.networks.allocate(n, c.id, req));
    }
    if (requests === c.endpoints) this.writeEtc(c, planned, endpoints, files);
    for (const e of endpoints)
      await this.audit.record({
        type: 'network.connected',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { network: e.networkName, networkId: e.networkId, address: e.address, aliases: e.aliases },
      });
    return endpoints;
  }

  /**
   * Puts a container that is not running on one more network (`docker network connect`): an
   * address, the /etc files rewritten; its next start sets the network up with the others.
   */
  async connect(
    caller: Caller,
    c: NetworkedContainer,
    ref: string,
    req: EndpointRequest,
    files: ContainerNetworkFiles,
  ): Promise<Endpoint> {
    const [network] = await this.plan(
      { networkMode: ref, endpoints: {}, ports: [] },
      scopeOf(caller.principal),
    );
    if (!network)
      throw new WardenError('VALIDATION_FAILED', `a container cannot be connected to network ${ref}`);
    if ((await this.networks.endpointsOf(c.id)).some((e) => e.networkId === network.id))
      throw new WardenError(
        'NETWORK_EXISTS',
        `container ${c.name} is already connected to network ${network.name}`,
      );
    const [endpoint] = await this.allocate(caller, c, [network], files, { [network.name]: req });
    await this.rewriteEtc(c, files);
    return endpoint;
  }

  /** Takes a container that is not running off a network: its address is freed. */
  async disconnect(
    caller: Caller,
    c: NetworkedContainer,
    ref: string,
    files: ContainerNetworkFiles,
  ): Promise<void> {
    const network = await this.networks.get(ref, scopeOf(caller.principal));
    if (!(await this.networks.release(network.id, c.id)))
      throw new WardenError(
        'NETWORK_NOT_FOUND',
        `container ${c.name} is not connected to network ${network.name}`,
        {
          network: network.name,
        },
      );
    await this.rewriteEtc(c, files);
    await this.audit.record({
      type: 'network.disconnected',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: { network: network.name, networkId: network.id },
    });
  }

  private async rewriteEtc(c: NetworkedContainer, files: ContainerNetworkFiles): Promise<void> {
    const [endpoints, networks] = await Promise.all([
      this.networks.endpointsOf(c.id),
      this.networks.list(EVERYTHING),
    ]);
    this.writeEtc(c, networks, endpoints, files);
  }

  /**
   * Sets the namespace of the process `pid` up for `c`: host ports bound (a port in use is a
   * 409 with nothing made), then netavark. Throws with nothing left behind.
   */
  async attach(
    caller: Caller,
    c: NetworkedContainer,
    pid: number,
    files: ContainerNetworkFiles,
  ): Promise<void> {
    const endpoints = await this.networks.endpointsOf(c.id);
    if (endpoints.length === 0) return;
    const all = await this.networks.list(EVERYTHING);
    const attachments: Attachment[] = endpoints.map((e) => ({
      endpoint: e,
      network: all.find((n) => n.id === e.networkId)!,
    }));
    const ports = await this.ports.hold(c.id, c.ports);
    let netnsFd: number | undefined;
    let options: NetavarkOptions | undefined;
    try {
      netnsFd = fs.openSync(`/proc/${pid}/ns/net`, 'r');
      options = netavarkOptions(c, attachments, ports);
      // Written before the setup: a Warden that dies during it still finds what to tear down.
      fs.writeFileSync(path.join(files.dir, OPTIONS_FILE), JSON.stringify(options), { mode: 0o600 });
      await this.netavark.setup(netnsFd, options);
    } catch (err) {
      if (options && netnsFd !== undefined)
        await this.netavark
          .teardown(netnsFd, options)
          .catch((e: Error) =>
            this.log.warn(`container ${c.id}: teardown after a failed setup: ${e.message}`),
          );
      if (netnsFd !== undefined) fs.closeSync(netnsFd);
      fs.rmSync(path.join(files.dir, OPTIONS_FILE), { force: true });
      this.ports.release(c.id);
      throw new WardenError(
        'NETWORK_SETUP_FAILED',
        `network setup failed: ${(err as Error).message}`,
        { id: c.id },
        { cause: err },
      );
    }
    this.attached.set(c.id, { netnsFd, options, ports });
    if (ports.length)
      await this.audit.record({
        type: 'network.published',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { ports },
      });
  }

  /** The host ports a running container holds, as published (hostPort resolved). */
  publishedPorts(containerId: string): PortBinding[] | undefined {
    return this.attached.get(containerId)?.ports;
  }

  /**
   * Undoes `attach`: netavark teardown with the options setup got, the namespace let go, the
   * host ports freed. Never throws (the container is gone either way); a failure is logged.
   */
  async detach(containerId: string, dir: string): Promise<void> {
    const held = this.attached.get(containerId);
    this.attached.delete(containerId);
    const file = path.join(dir, OPTIONS_FILE);
    let options = held?.options;
    if (!options) {
      try {
        options = JSON.parse(fs.readFileSync(file, 'utf8')) as NetavarkOptions;
      } catch {
        this.ports.release(containerId);
        return; // never set up
      }
    }
    try {
      await this.netavark.teardown(held?.netnsFd, options);
    } catch (err) {
      this.log.error(`container ${containerId}: network teardown failed: ${(err as Error).message}`);
    } finally {
      if (held) fs.closeSync(held.netnsFd);
      fs.rmSync(file, { force: true });
      this.ports.release(containerId);
    }
  }

  /**
   * /etc/hosts names the container on each of its addresses (as Docker writes it); resolv.conf
   * points at aardvark-dns on the first network that has it (its gateway), else the host's
   * resolver. Written in place: the files are bind-mounted, possibly already.
   */
  writeEtc(
    c: Pick<NetworkedContainer, 'hostname' | 'name'>,
    networks: NetworkRecord[],
    endpoints: Endpoint[],
    files: Pick<ContainerNetworkFiles, 'hosts' | 'resolvConf'>,
  ): void {
    fs.writeFileSync(files.hosts, hostsFile(c, endpoints), { mode: 0o644 });
    const dns = networks.find((n) => n.dnsEnabled && endpoints.some((e) => e.networkId === n.id));
    let resolv = '';
    if (dns) resolv = `search dns.podman\nnameserver ${dns.gateway}\n`;
    else if (endpoints.length) {
      try {
        resolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        resolv = '';
      }
    }
    fs.writeFileSync(files.resolvConf, resolv, { mode: 0o644 });
  }
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
    ...(endpoints.length ? endpoints.map((e) => `${e.address}\t${names}`) : [`127.0.1.1\t${c.hostname}`]),
    '',
  ].join('\n');
}
