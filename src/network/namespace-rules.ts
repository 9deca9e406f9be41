import { Bandwidth, hasCaps } from './bandwidth';
import { applyEgress } from './egress';
import type { NetavarkOptions } from './netavark';
import type { NetworkedContainer } from './network';

/**
 * What Warden adds to a container's network beyond netavark's setup: its rate caps (tc on the
 * host side of each veth, bandwidth.ts) and its egress allowlist (nft in its own namespace,
 * egress.ts). Run after each setup and teardown; a throw makes the caller undo the setup.
 */
export class NamespaceRules {
  private readonly bandwidth = new Bandwidth();

  /** After `added` was set up in the namespace, whose networks are now `all`. */
  async afterSetup(
    c: NetworkedContainer,
    netnsFd: number,
    added: NetavarkOptions,
    all: NetavarkOptions,
  ): Promise<void> {
    // The allowlist first: DNS to the new network's gateway is let through before its caps.
    if (c.egress) await applyEgress(netnsFd, c.egress, all);
    if (hasCaps(c.bandwidth))
      for (const n of Object.values(added.networks))
        await this.bandwidth.apply(c.id, netnsFd, n.interface_name, c.bandwidth);
  }

  /** After one network (its `ifname`) was torn down; the namespace keeps `remaining`. */
  async afterTeardown(
    c: NetworkedContainer,
    netnsFd: number,
    ifname: string,
    remaining: NetavarkOptions,
  ): Promise<void> {
    await this.bandwidth.remove(c.id, ifname);
    if (c.egress) await applyEgress(netnsFd, c.egress, remaining);
  }

  /**
   * The host-side leftovers of a container whose namespace goes (its ifb devices; its egress
   * table goes with the namespace); one interface's with `ifname`. Idempotent.
   */
  remove(containerId: string, ifname?: string): Promise<void> {
    return this.bandwidth.remove(containerId, ifname);
  }
}
