import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerApiServer } from '../../src/docker-api';
import { DockerCli, DockerResult, hasDockerCli } from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { TestCa } from '../utils/tls';
import { dockerSave } from '../fixtures/images/archives';
import { busyboxImage } from '../fixtures/images/fixture-images';

interface AuditRow {
  type: string;
  source?: { peerCertificate?: string };
}
import { ADMIN_TOKEN, startTestWarden, TestWarden } from '../utils/warden';

/** The real docker client over TCP with mutual TLS, as `docker --tlsverify` with a cert dir. */
class DockerTcpCli extends DockerCli {
  constructor(
    private readonly host: string,
    private readonly certDir?: string,
    private readonly caOnly?: string,
  ) {
    super('/nonexistent');
  }

  override env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: this.configDir };
    if (this.certDir) Object.assign(env, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: this.certDir });
    return env;
  }

  /** No client certificate: only the server is verified (`--tls --tlscacert`). */
  runWithoutClientCert(args: string[]): Promise<DockerResult> {
    return this.run(['--tls', '--tlscacert', this.caOnly!, ...args]);
  }
}

function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile('curl', ['-sS', '-m', '10', ...args], (e, out, err) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
    ),
  );
}

if (!hasDockerCli() && process.env.CI) throw new Error('the docker CLI is needed for the TLS tests');

describe('transport: HTTPS on the HTTP port and the Docker API over mutual TLS', () => {
  const ca = new TestCa();
  const rogue = new TestCa('rogue-ca');
  const server = ca.issue('server', 'warden-test', { serverNames: ['IP:127.0.0.1', 'DNS:localhost'] });
  const deployer = ca.issue('deployer', 'docker-root');
  const stranger = ca.issue('stranger', 'nobody-we-know');
  const forged = rogue.issue('forged', 'docker-root');
  let w: TestWarden;
  let tcp: string;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-tls-'));

  beforeAll(async () => {
    w = await startTestWarden('up', {
      WARDEN_TLS_CERT: server.cert,
      WARDEN_TLS_KEY: server.key,
      WARDEN_DOCKER_SOCKET: path.join(sockDir, 'docker.sock'),
      WARDEN_DOCKER_TCP: '127.0.0.1:0',
      WARDEN_DOCKER_TLS_CA: ca.cert,
      WARDEN_DOCKER_TLS_CERT: server.cert,
      WARDEN_DOCKER_TLS_KEY: server.key,
    });
    tcp = `tcp://127.0.0.1:${w.app.get(DockerApiServer).tcpPort}`;
  });

  afterAll(async () => {
    await w?.close();
    ca.remove();
    rogue.remove();
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  it('serves REST over HTTPS with the given certificate, and nothing in clear text', async () => {
    expect(w.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await curl(['--cacert', ca.cert, `${w.url}/health`]);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.out).status).toBe('ok');
    const who = await curl([
      '--cacert',
      ca.cert,
      '-H',
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      `${w.url}/principals`,
    ]);
    expect(who.code).toBe(0);
    expect(Array.isArray(JSON.parse(who.out))).toBe(true);
    // Plain HTTP to the TLS port gets no API answer.
    const plain = await curl([
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      w.url.replace('https:', 'http:') + '/health',
    ]);
    expect(plain.out).not.toBe('200');
    // A client that does not trust the certificate refuses it (no silent downgrade).
    const untrusted = await curl([`${w.url}/health`]);
    expect(untrusted.code).toBe(60);
  });

  it('lets the docker CLI in with a certificate from the configured CA, acting as the principal its CN names', async () => {
    const docker = new DockerTcpCli(tcp, deployer.dockerDir);
    const version = await docker.run(['version', '--format', '{{.Server.Version}}']);
    expect(version.stderr).toBe('');
    expect(version.code).toBe(0);
    const ps = await docker.run(['ps', '-a', '--format', '{{.ID}}']);
    expect(ps.code).toBe(0);
    // What the TCP caller does is recorded with the certificate, as socket calls are with the uid.
    const tar = path.join(sockDir, 'busybox.tar');
    fs.writeFileSync(tar, await dockerSave(await busyboxImage(), ['busybox:1.35']));
    const imported = await curl([
      '--cacert',
      ca.cert,
      '-H',
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      '-H',
      'Content-Type: application/x-tar',
      '--data-binary',
      `@${tar}`,
      `${w.url}/images/import`,
    ]);
    expect(imported.code).toBe(0);
    const created = await docker.run(['create', '--name', 'over-tls', 'busybox:1.35', 'true']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    await eventually('the create recorded with the client certificate', async () => {
      const r = await curl([
        '--cacert',
        ca.cert,
        '-H',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        `${w.url}/audit/events?principal=docker-root&limit=100`,
      ]);
      const events = (JSON.parse(r.out) as { events: AuditRow[] }).events;
      const mine = events.filter((e) => e.type === 'container.created' && JSON.stringify(e).includes(id));
      return mine.length === 1 && mine[0].source?.peerCertificate === 'CN=docker-root';
    });
    expect((await docker.run(['rm', 'over-tls'])).code).toBe(0);
  });

  it('refuses clients without a certificate, with one from another CA, and a CN that names no principal', async () => {
    const none = await new DockerTcpCli(tcp, undefined, ca.cert).runWithoutClientCert(['ps']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/certificate|tls|handshake|EOF|reset/i);

    const forgedCli = new DockerTcpCli(tcp, path.join(forged.dockerDir));
    // The forged client trusts the real server (its own ca.pem would not verify Warden).
    fs.copyFileSync(ca.cert, path.join(forged.dockerDir, 'ca.pem'));
    const refused = await forgedCli.run(['ps']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/certificate|tls|handshake|EOF|reset/i);

    const unknown = await new DockerTcpCli(tcp, stranger.dockerDir).run(['ps']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('CN=nobody-we-know names no Warden principal');

    // curl without a client certificate cannot even complete the handshake.
    const port = tcp.slice(tcp.lastIndexOf(':') + 1);
    const bare = await curl(['--cacert', ca.cert, `https://127.0.0.1:${port}/_ping`]);
    expect(bare.code).not.toBe(0);
    const withCert = await curl([
      '--cacert',
      ca.cert,
      '--cert',
      deployer.cert,
      '--key',
      deployer.key,
      `https://127.0.0.1:${port}/_ping`,
    ]);
    expect(withCert.out).toBe('OK');
  });
});
