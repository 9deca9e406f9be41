import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { AdmissionConfig } from '../platform/config';

export interface AdmissionTls {
  cert: Buffer;
  key: Buffer;
  /** The CA bundle the webhook configuration's `caBundle` needs (base64 of this PEM). */
  caFile?: string;
  certFile: string;
}

/** The admission port's material: given files, or a CA and serving certificate kept in the data dir. */
export function resolveAdmissionTls(config: AdmissionConfig, dataDir: string): AdmissionTls {
  if (config.tls.mode === 'files')
    return {
      cert: readPem(config.tls.cert),
      key: fs.readFileSync(config.tls.key),
      certFile: config.tls.cert,
    };
  const files = ensureGenerated(path.join(dataDir, 'admission-tls'), config.tls.serverNames);
  return {
    cert: readPem(files.cert),
    key: fs.readFileSync(files.key),
    caFile: files.ca,
    certFile: files.cert,
  };
}

function readPem(file: string): Buffer {
  const pem = fs.readFileSync(file);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${file} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  return pem;
}

/**
 * A private CA (`ca.pem`) and a serving certificate it signs (`serving-cert.pem`) naming the
 * webhook Service and this host's loopback. Made once and kept, so the caBundle pasted into
 * the webhook configurations stays valid across restarts; a serving certificate whose names
 * no longer match the configured ones is issued again by the same CA.
 *
 * openssl's CLI, as for the HTTP port (src/platform/http/tls.ts): Node's crypto cannot issue
 * certificates.
 */
export function ensureGenerated(
  dir: string,
  serverNames: string[],
): { ca: string; caKey: string; cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'serving-cert.pem'),
    key: path.join(dir, 'serving-key.pem'),
  };
  if (!fs.existsSync(f.ca) || !fs.existsSync(f.caKey)) {
    fs.rmSync(f.cert, { force: true });
    writeAtomically([f.caKey, f.ca], ([key, cert]) =>
      openssl(
        ['req', '-x509', ...newKey(key), '-days', '3650', '-subj', '/CN=warden-admission-ca'].concat([
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
          '-out',
          cert,
        ]),
      ),
    );
  }
  const names = sanList(serverNames);
  if (!fs.existsSync(f.cert) || !fs.existsSync(f.key) || sansOf(f.cert) !== names) {
    const ext = path.join(dir, `serving.${process.pid}.ext`);
    const csr = path.join(dir, `serving.${process.pid}.csr`);
    try {
      fs.writeFileSync(
        ext,
        `subjectAltName=${names}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
      );
      writeAtomically([f.key, f.cert], ([key, cert]) => {
        openssl(['req', '-new', ...newKey(key), '-subj', `/CN=${serverNames[0]}`, '-out', csr]);
        openssl(
          ['x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', f.caKey, '-CAcreateserial'].concat([
            '-days',
            '825',
            '-extfile',
            ext,
            '-out',
            cert,
          ]),
        );
      });
    } finally {
      fs.rmSync(ext, { force: true });
      fs.rmSync(csr, { force: true });
    }
  }
  return f;
}

const newKey = (keyFile: string) => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  keyFile,
];

/** The configured names and this host's loopback, as openssl's subjectAltName value. */
function sanList(serverNames: string[]): string {
  const all = [...new Set([...serverNames, 'localhost', '127.0.0.1', '::1'])];
  return all.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** The certificate's names in sanList's form, to see whether it still fits the configuration. */
function sansOf(certFile: string): string {
  try {
    const alt = new X509Certificate(fs.readFileSync(certFile)).subjectAltName ?? '';
    return alt
      .split(', ')
      .map((n) => n.replace(/^IP Address:/, 'IP:').replace(/^DNS:/, 'DNS:'))
      .map((n) => (n === 'IP:0:0:0:0:0:0:0:1' ? 'IP:::1' : n))
      .join(',');
  } catch {
    return '';
  }
}

/** Written under temporary names, then renamed: a crash mid-way leaves the old pair or none. */
function writeAtomically(files: [string, string], make: (tmp: [string, string]) => void): void {
  const tmp = files.map((f) => `${f}.${process.pid}.tmp`) as [string, string];
  try {
    make(tmp);
    fs.chmodSync(tmp[0], 0o600);
    fs.renameSync(tmp[0], files[0]);
    fs.renameSync(tmp[1], files[1]);
  } catch (err) {
    for (const t of tmp) fs.rmSync(t, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `could not make the admission certificates in ${path.dirname(files[0])}: ${stderr || (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
}
