import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { WardenError } from '../platform/errors';
import type { PortBinding } from './network';

type Held = net.Server | dgram.Socket;

/**
 * Host ports a running container publishes, bound by Warden for as long as it runs (as
 * Docker's proxy binds them): a port something else holds — another container, any process
 * of the host — is refused with a 409 before netavark makes a forward, and nothing else can
 * take it meanwhile. Traffic never reaches these sockets: netavark's DNAT sends it to the
 * container first. `hostPort` 0 takes a free port, as Docker does for `-p 80` and `-P`.
 */
export class PortHolder {
  private readonly held = new Map<string, Held[]>();

  async hold(containerId: string, ports: PortBinding[]): Promise<PortBinding[]> {
    const sockets: Held[] = [];
    const bound: PortBinding[] = [];
    try {
      for (const p of ports) {
        const { socket, port } = await bind(p);
        sockets.push(socket);
        bound.push({ ...p, hostPort: port });
      }
    } catch (err) {
      sockets.forEach(close);
      throw err;
    }
    this.held.set(containerId, sockets);
    return bound;
  }

  release(containerId: string): void {
    this.held.get(containerId)?.forEach(close);
    this.held.delete(containerId);
  }
}

function close(s: Held): void {
  try {
    s.close();
  } catch {
    /* closed already */
  }
}

function bind(p: PortBinding): Promise<{ socket: Held; port: number }> {
  const host = p.hostIp || '0.0.0.0';
  const inUse = (err: NodeJS.ErrnoException) =>
    err.code === 'EADDRINUSE'
      ? new WardenError(
          'NETWORK_PORT_IN_USE',
          `host port ${host}:${p.hostPort}/${p.protocol} is already in use: choose another host port`,
          { hostIp: host, hostPort: p.hostPort, protocol: p.protocol },
        )
      : err.code === 'EADDRNOTAVAIL'
        ? new WardenError('VALIDATION_FAILED', `host address ${host} is not an address of this host`, {
            hostIp: host,
          })
        : err;
  return new Promise((resolve, reject) => {
    if (p.protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', (err) => reject(inUse(err)));
      s.bind(p.hostPort, host, () => resolve({ socket: s, port: s.address().port }));
      return;
    }
    const s = net.createServer((conn) => conn.destroy());
    s.once('error', (err) => reject(inUse(err)));
    s.listen({ host, port: p.hostPort, exclusive: true }, () =>
      resolve({ socket: s, port: (s.address() as net.AddressInfo).port }),
    );
  });
}
