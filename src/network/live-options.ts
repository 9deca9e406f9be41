import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetavarkOptions } from './netavark';
import type { PortBinding } from './network';

// The netavark options a running container was set up with, kept in its dir (so a restarted
// Warden tears down what exists), and the pure edits `docker network connect|disconnect`
// make to them: podman's way, one `setup` or `teardown` per network joined or left, with the
// container's port mappings, so the published ports forward on the new network too.

const OPTIONS_FILE = 'netavark.json';

export function optionsPath(dir: string): string {
  return path.join(dir, OPTIONS_FILE);
}

export function readOptions(dir: string): NetavarkOptions | undefined {
  try {
    return JSON.parse(fs.readFileSync(optionsPath(dir), 'utf8')) as NetavarkOptions;
  } catch {
    return undefined;
  }
}

export function writeOptions(dir: string, options: NetavarkOptions): void {
  fs.writeFileSync(optionsPath(dir), JSON.stringify(options), { mode: 0o600 });
}

/** The published ports the options forward, as PortBindings (host ports resolved at setup). */
export function portsOf(options: NetavarkOptions): PortBinding[] {
  return options.port_mappings.map((m) => ({
    hostIp: m.host_ip || '0.0.0.0',
    hostPort: m.host_port,
    containerPort: m.container_port,
    protocol: m.protocol,
  }));
}

/** The options for one of the networks only: what a `teardown` for leaving it is given. */
export function onlyNetwork(options: NetavarkOptions, name: string): NetavarkOptions {
  return {
    ...options,
    networks: { [name]: options.networks[name] },
    network_info: { [name]: options.network_info[name] },
  };
}

export function withNetwork(options: NetavarkOptions, added: NetavarkOptions): NetavarkOptions {
  return {
    ...options,
    networks: { ...options.networks, ...added.networks },
    network_info: { ...options.network_info, ...added.network_info },
  };
}

export function withoutNetwork(options: NetavarkOptions, name: string): NetavarkOptions {
  const networks = { ...options.networks };
  const info = { ...options.network_info };
  delete networks[name];
  delete info[name];
  return { ...options, networks, network_info: info };
}

/** The first ethN the container's namespace does not have yet (a left network's name is reused). */
export function nextInterface(options: NetavarkOptions): string {
  const taken = new Set(Object.values(options.networks).map((n) => n.interface_name));
  let i = 0;
  while (taken.has(`eth${i}`)) i++;
  return `eth${i}`;
}
