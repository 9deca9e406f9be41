import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A private CA and what it signs, made with openssl for one test file. */
export class TestCa {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-test-ca-'));
  readonly cert: string;
  readonly key: string;

  constructor(readonly name = 'warden-test-ca') {
    this.key = path.join(this.dir, 'ca-key.pem');
    this.cert = path.join(this.dir, 'ca.pem');
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'].concat(
        ['-subj', `/CN=${name}`, '-keyout', this.key, '-out', this.cert],
      ),
    );
  }

  /**
   * A certificate for `cn` signed by this CA: a server's (with subjectAltNames) or a client's.
   * Written as `<name>-cert.pem` / `<name>-key.pem`, and in a docker cert dir (ca/cert/key.pem).
   */
  issue(name: string, cn: string, opts: { serverNames?: string[] } = {}) {
    const key = path.join(this.dir, `${name}-key.pem`);
    const csr = path.join(this.dir, `${name}.csr`);
    const cert = path.join(this.dir, `${name}-cert.pem`);
    const ext = path.join(this.dir, `${name}.ext`);
    openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        key,
        '-out',
        csr,
      ]),
    );
    fs.writeFileSync(
      ext,
      opts.serverNames
        ? `subjectAltName=${opts.serverNames.join(',')}\nextendedKeyUsage=serverAuth\n`
        : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        this.cert,
        '-CAkey',
        this.key,
        '-CAcreateserial',
        '-days',
        '2',
      ].concat(['-extfile', ext, '-out', cert]),
    );
    const dockerDir = path.join(this.dir, `${name}.docker`);
    fs.mkdirSync(dockerDir);
    fs.copyFileSync(this.cert, path.join(dockerDir, 'ca.pem'));
    fs.copyFileSync(cert, path.join(dockerDir, 'cert.pem'));
    fs.copyFileSync(key, path.join(dockerDir, 'key.pem'));
    return { cert, key, dockerDir };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `openssl x509 -fingerprint -sha256` of a PEM file, as Node prints fingerprint256. */
export function fingerprintOf(certFile: string): string {
  const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile], {
    encoding: 'utf8',
  });
  return out.trim().replace(/^.*=/, '');
}
