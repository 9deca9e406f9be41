import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertBuilt, cliEnv, ROOT } from '../utils/cli';
import { eventually } from '../utils/services';
import { fingerprintOf } from '../utils/tls';

const TOKEN = 'tls-test-admin-token-0123456789';
// An address of the test's own network namespace that is not loopback: peers from it are
// "another host" as far as Warden can tell. Nothing is added to the machine's namespace.
const OUTSIDE = '10.77.0.1';

/**
 * `warden up` inside a network namespace of its own (`unshare -n`, lo up plus one non-loopback
 * address), on its embedded PostgreSQL and Redis, bound to 0.0.0.0 as an operator exposing it
 * would. curl reaches it through the namespace with nsenter.
 */
class IsolatedWarden {
  readonly child: ChildProcess;
  private out = '';
  readonly exit: Promise<unknown>;

  constructor(dataDir: string, port: number, env: Record<string, string>) {
    const script = `ip link set lo up && ip addr add ${OUTSIDE}/32 dev lo && exec setpriv --pdeathsig=SIGKILL -- "$0" "$@"`;
    this.child = spawn(
      'unshare',
      ['-n', 'sh', '-c', script, process.execPath, path.join(ROOT, 'bin', 'warden.js'), 'up'],
      {
        env: cliEnv({
          WARDEN_DATA_DIR: dataDir,
          WARDEN_HOST: '0.0.0.0',
          WARDEN_PORT: String(port),
          WARDEN_ADMIN_TOKEN: TOKEN,
          WARDEN_CGROUP_PARENT: `warden-tls-${process.pid}-${port}`,
          WARDEN_DOCKER_SOCKET: path.join(dataDir, 'docker.sock'),
          ...env,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.out += d));
    this.exit = new Promise((resolve) => this.child.on('exit', resolve));
  }

  output(): string {
    return this.out;
  }

  curl(args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) =>
      execFile(
        'nsenter',
        [`--net=/proc/${this.child.pid}/ns/net`, 'curl', '-sS', '-m', '10', ...args],
        (e, out, err) =>
          resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: out || err }),
      ),
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exit;
  }
}

describe('Warden bound beyond loopback', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tls-'));
  const port = 20000 + (process.pid % 20000);

  beforeAll(() => assertBuilt());
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('serves HTTPS with a self-signed certificate it makes and keeps, printing its fingerprint', async () => {
    const w = new IsolatedWarden(dataDir, port, {});
    try {
      const cert = path.join(dataDir, 'tls', 'http-cert.pem');
      await eventually(
        `Warden to answer on https (output:\n${w.output().slice(-2000)})`,
        async () => {
          if (w.child.exitCode !== null) throw new Error(`warden exited:\n${w.output()}`);
          return (await w.curl(['--cacert', cert, `https://127.0.0.1:${port}/health`])).code === 0;
        },
        120000,
      );
      const fingerprint = fingerprintOf(cert);
      expect(w.output()).toContain(`SHA-256 fingerprint ${fingerprint}`);
      expect(fs.statSync(path.join(dataDir, 'tls', 'http-key.pem')).mode & 0o777).toBe(0o600);
      // Tokens over TLS are taken from any peer.
      const fromOutside = await w.curl([
        '--cacert',
        cert,
        '--interface',
        OUTSIDE,
        '-H',
        `Authorization: Bearer ${TOKEN}`,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `https://127.0.0.1:${port}/principals`,
      ]);
      expect(fromOutside.out).toBe('200');
      // Nothing is served in clear text on that port.
      const plain = await w.curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://${OUTSIDE}:${port}/health`,
      ]);
      expect(plain.out).not.toBe('200');
    } finally {
      await w.stop();
    }
    // The next start keeps the certificate (a pinned fingerprint stays valid).
    const again = new IsolatedWarden(dataDir, port, {});
    try {
      const cert = path.join(dataDir, 'tls', 'http-cert.pem');
      const before = fingerprintOf(cert);
      await eventually(
        'the restarted Warden',
        async () => (await again.curl(['--cacert', cert, `https://127.0.0.1:${port}/health`])).code === 0,
        120000,
      );
      expect(fingerprintOf(cert)).toBe(before);
    } finally {
      await again.stop();
    }
  });

  it('with WARDEN_TLS=off, refuses bearer tokens in clear text from non-loopback peers and takes them on loopback', async () => {
    const w = new IsolatedWarden(dataDir, port + 1, { WARDEN_TLS: 'off' });
    const url = (host: string) => `http://${host}:${port + 1}`;
    try {
      await eventually(
        `Warden to answer on http (output:\n${w.output().slice(-2000)})`,
        async () => {
          if (w.child.exitCode !== null) throw new Error(`warden exited:\n${w.output()}`);
          return (await w.curl([`${url('127.0.0.1')}/health`])).code === 0;
        },
        120000,
      );
      const auth = ['-H', `Authorization: Bearer ${TOKEN}`];
      const refused = await w.curl(['--interface', OUTSIDE, ...auth, `${url(OUTSIDE)}/principals`]);
      const body = JSON.parse(refused.out) as { statusCode: number; code: string; message: string };
      expect(body.statusCode).toBe(403);
      expect(body.code).toBe('TLS_REQUIRED');
      expect(body.message).toContain(`over plain HTTP from ${OUTSIDE}`);
      // Refused before any route: the registry proxy's /v2/ as well.
      const v2 = await w.curl([
        '--interface',
        OUTSIDE,
        ...auth,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${url(OUTSIDE)}/v2/`,
      ]);
      expect(v2.out).toBe('403');
      // Without credentials a remote peer still reaches public routes (a load balancer's check).
      const health = await w.curl([
        '--interface',
        OUTSIDE,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${url(OUTSIDE)}/health`,
      ]);
      expect(health.out).toBe('200');
      const local = await w.curl([
        ...auth,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${url('127.0.0.1')}/principals`,
      ]);
      expect(local.out).toBe('200');
    } finally {
      await w.stop();
    }
  });
});
