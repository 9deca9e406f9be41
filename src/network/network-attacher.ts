import { Inject, Injectable, Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { EVERYTHING, scopeOf, type Scope } from '../platform/scope';
import { Netavark, netavarkOptions, type Attachment, type NetavarkOptions } from './netavark';
import type { Endpoint, EndpointRequest, NetworkedContainer, NetworkRecord, PortBinding } from './network';
import { NetworkService } from './network.service';
import { PortHolder } from './port-holder';
import { NamespaceRules } from './namespace-rules';
import { writeEtc, type ContainerNetworkFiles } from './etc-files';
import {
  nextInterface,
  onlyNetwork,
  optionsPath,
  portsOf,
  readOptions,
  withNetwork,
  withoutNetwork,
  writeOptions,
} from './live-options';

interface Attached {
  /** Keeps the container's namespace (and so its veth) alive until the teardown. */
  netnsFd: number;
  options: NetavarkOptions;
  ports: PortBinding[];
}

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
  private readonly rules = new NamespaceRules();

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
    if (requests === c.endpoints) writeEtc(c, planned, endpoints, files);
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
   * Puts a container on one more network (`docker network connect`): an address, the /etc
   * files rewritten. `pid` given (it runs): its namespace gets the network now, one netavark
   * setup for that network alone (as podman connects); a failed one leaves nothing, the
   * address included. Otherwise its next start sets the network up with the others.
   */
  async connect(
    caller: Caller,
    c: NetworkedContainer,
    ref: string,
    req: EndpointRequest,
    files: ContainerNetworkFiles,
    pid?: number,
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
    const endpoint = await this.networks.allocate(network, c.id, req);
    if (pid !== undefined)
      try {
        await this.setupOne(c, pid, network, endpoint, files.dir);
      } catch (err) {
        await this.networks.release(network.id, c.id);
        throw err;
      }
    await this.rewriteEtc(c, files);
    await this.audit.record({
      type: 'network.connected',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: {
        network: endpoint.networkName,
        networkId: endpoint.networkId,
        address: endpoint.address,
        aliases: endpoint.aliases,
        ...(pid !== undefined ? { running: true } : {}),
      },
    });
    return endpoint;
  }

  /**
   * Takes a container off a network: with `pid` (it runs), netavark tears that network's
   * interface, forwards and DNS entry down first; then its address is freed.
   */
  async disconnect(
    caller: Caller,
    c: NetworkedContainer,
    ref: string,
    files: ContainerNetworkFiles,
    pid?: number,
  ): Promise<void> {
    const network = await this.networks.get(ref, scopeOf(caller.principal));
    const notOn = () =>
      new WardenError(
        'NETWORK_NOT_FOUND',
        `container ${c.name} is not connected to network ${network.name}`,
        {
          network: network.name,
        },
      );
    if (!(await this.networks.endpointsOf(c.id)).some((e) => e.networkId === network.id)) throw notOn();
    if (pid !== undefined) await this.teardownOne(c, pid, network, files.dir);
    if (!(await this.networks.release(network.id, c.id))) throw notOn();
    await this.rewriteEtc(c, files);
    await this.audit.record({
      type: 'network.disconnected',
      principal: caller.principal.id,
      source: caller.source,
      subject: c.id,
      payload: {
        network: network.name,
        networkId: network.id,
        ...(pid !== undefined ? { running: true } : {}),
      },
    });
  }

  private async setupOne(
    c: NetworkedContainer,
    pid: number,
    network: NetworkRecord,
    endpoint: Endpoint,
    dir: string,
  ): Promise<void> {
    const held = this.held(c.id, pid, dir);
    const one = netavarkOptions(c, [{ network, endpoint }], held.ports);
    one.networks[network.name].interface_name = nextInterface(held.options);
    const merged = withNetwork(held.options, one);
    // Written first: a Warden that dies during the setup still tears the new network down.
    writeOptions(dir, merged);
    const ifname = one.networks[network.name].interface_name;
    try {
      await this.netavark.setup(held.netnsFd, one);
      await this.rules.afterSetup(c, held.netnsFd, one, merged);
    } catch (err) {
      await this.rules.remove(c.id, ifname).catch(() => undefined);
      await this.netavark
        .teardown(held.netnsFd, one)
        .catch((e: Error) => this.log.warn(`container ${c.id}: teardown after a failed setup: ${e.message}`));
      writeOptions(dir, held.options);
      throw new WardenError(
        'NETWORK_SETUP_FAILED',
        `network setup failed: ${(err as Error).message}`,
        { id: c.id, network: network.name },
        { cause: err },
      );
    }
    held.options = merged;
  }

  private async teardownOne(
    c: NetworkedContainer,
    pid: number,
    network: NetworkRecord,
    dir: string,
  ): Promise<void> {
    const held = this.held(c.id, pid, dir);
    if (!held.options.networks[network.name]) return; // joined while stopped, and not started since
    try {
      await this.netavark.teardown(held.netnsFd, onlyNetwork(held.options, network.name));
    } catch (err) {
      throw new WardenError(
        'NETWORK_SETUP_FAILED',
        `network teardown failed: ${(err as Error).message}`,
        { id: c.id, network: network.name },
        { cause: err },
      );
    }
    const ifname = held.options.networks[network.name].interface_name;
    held.options = withoutNetwork(held.options, network.name);
    writeOptions(dir, held.options);
    await this.rules
      .afterTeardown(c, held.netnsFd, ifname, held.options)
      .catch((e: Error) => this.log.warn(`container ${c.id}: after leaving ${network.name}: ${e.message}`));
  }

  /**
   * A running container's namespace as the attacher holds it; for one adopted after a
   * restart, taken up again from its pid and the options file (see `adopt`).
   */
  private held(containerId: string, pid: number, dir: string): Attached {
    const held = this.attached.get(containerId) ?? this.reopen(containerId, pid, dir);
    if (!held)
      throw new WardenError(
        'CONTAINER_NOT_RUNNING',
        `container ${containerId} has no network namespace to change: start it first`,
        { id: containerId },
      );
    return held;
  }

  private reopen(containerId: string, pid: number, dir: string): Attached | undefined {
    const options = readOptions(dir);
    if (!options) return undefined;
    const file = `/proc/${pid}/ns/net`;
    let netnsFd: number;
    try {
      // A pid that is no longer the container's would name Warden's own namespace (or none).
      if (fs.readlinkSync(file) === fs.readlinkSync('/proc/self/ns/net')) return undefined;
      netnsFd = fs.openSync(file, 'r');
    } catch {
      return undefined; // its process is gone: nothing to change in place
    }
    const held: Attached = { netnsFd, options, ports: portsOf(options) };
    this.attached.set(containerId, held);
    return held;
  }

  /**
   * A container that outlived a Warden restart (live restore): its namespace is held again,
   * and its host ports bound again, so `docker port` shows them and nothing else takes them.
   */
  async adopt(containerId: string, pid: number, dir: string): Promise<void> {
    if (this.attached.has(containerId)) return;
    try {
      const held = this.reopen(containerId, pid, dir);
      if (held && held.ports.length) await this.ports.hold(containerId, held.ports);
    } catch (err) {
      this.log.warn(
        `container ${containerId}: its network taken up again only partly: ${(err as Error).message}`,
      );
    }
  }

  private async rewriteEtc(c: NetworkedContainer, files: ContainerNetworkFiles): Promise<void> {
    const [endpoints, networks] = await Promise.all([
      this.networks.endpointsOf(c.id),
      this.networks.list(EVERYTHING),
    ]);
    writeEtc(c, networks, endpoints, files);
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
      writeOptions(files.dir, options);
      await this.netavark.setup(netnsFd, options);
      await this.rules.afterSetup(c, netnsFd, options, options);
    } catch (err) {
      await this.rules.remove(c.id).catch(() => undefined);
      if (options && netnsFd !== undefined)
        await this.netavark
          .teardown(netnsFd, options)
          .catch((e: Error) =>
            this.log.warn(`container ${c.id}: teardown after a failed setup: ${e.message}`),
          );
      if (netnsFd !== undefined) fs.closeSync(netnsFd);
      fs.rmSync(optionsPath(files.dir), { force: true });
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
    const file = optionsPath(dir);
    const options = held?.options ?? readOptions(dir);
    if (!options) {
      this.ports.release(containerId);
      return; // never set up
    }
    try {
      // Every network left while running: nothing of netavark's is left to remove.
      if (Object.keys(options.networks).length) await this.netavark.teardown(held?.netnsFd, options);
    } catch (err) {
      this.log.error(`container ${containerId}: network teardown failed: ${(err as Error).message}`);
    } finally {
      await this.rules
        .remove(containerId)
        .catch((e: Error) => this.log.error(`container ${containerId}: bandwidth cap removal: ${e.message}`));
      if (held) fs.closeSync(held.netnsFd);
      fs.rmSync(file, { force: true });
      this.ports.release(containerId);
    }
  }
}
