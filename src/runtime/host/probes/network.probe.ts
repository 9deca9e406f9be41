import { spawn } from 'node:child_process';
import type { DoctorItem, ProbeContext } from '../doctor-report';

/** The netavark Warden's network code and its golden tests were written against (Debian 12). */
export const NETAVARK_TESTED = '1.4';
const NETAVARK = '/usr/lib/podman/netavark';
const AARDVARK = '/usr/lib/podman/aardvark-dns';

function version(binary: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}

// Informational: containers run without it (network none and host); bridge networks
// (WARDEN_NETWORKING=bridge) need netavark, and name resolution on them aardvark-dns.
export async function probeNetwork(ctx: ProbeContext): Promise<DoctorItem[]> {
  const [netavark, aardvark] = await Promise.all([
    version(NETAVARK, ctx.commandTimeoutMs),
    version(AARDVARK, ctx.commandTimeoutMs),
  ]);
  const v = /(\d+\.\d+)\.\d+/.exec(netavark ?? '')?.[1];
  return [
    {
      id: 'network.netavark',
      label: 'netavark',
      status: !netavark ? 'missing' : v === NETAVARK_TESTED ? 'ok' : 'warn',
      value: netavark ?? `not found at ${NETAVARK}`,
      meaning: !netavark
        ? 'no bridge networks: containers get network none or host (apt-get install netavark)'
        : v === NETAVARK_TESTED
          ? 'bridge networks, published ports (WARDEN_NETWORKING=bridge)'
          : `bridge networks untested with this version: Warden is tested against netavark ${NETAVARK_TESTED}`,
      required: false,
      detail: { path: NETAVARK, version: netavark ?? null, tested: NETAVARK_TESTED },
    },
    {
      id: 'network.aardvark-dns',
      label: 'aardvark-dns',
      status: aardvark ? 'ok' : 'missing',
      value: aardvark ?? `not found at ${AARDVARK}`,
      meaning: aardvark
        ? 'containers on user-defined networks resolve each other by name'
        : 'no name resolution between containers (apt-get install aardvark-dns)',
      required: false,
      detail: { path: AARDVARK, version: aardvark ?? null },
    },
  ];
}
