import type { Endpoint, NetworkRecord } from '../network';

/** A user-defined bridge network record; `over` changes one thing. */
export const net = (over: Partial<NetworkRecord>): NetworkRecord => ({
  id: 'a'.repeat(64),
  name: 'appnet',
  driver: 'bridge',
  interface: 'wbr-aaaaaaaaaaa',
  subnet: '10.77.0.0/24',
  gateway: '10.77.0.1',
  internal: false,
  dnsEnabled: true,
  builtin: false,
  labels: {},
  options: {},
  createdBy: 'admin',
  team: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});
export const ep = (n: NetworkRecord, address: string, aliases: string[] = []): Endpoint => ({
  networkId: n.id,
  networkName: n.name,
  containerId: 'c'.repeat(64),
  address,
  aliases,
});
