import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureGenerated, resolveAdmissionTls } from './admission-tls';

describe('the admission certificates', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-admission-tls-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cert = (file: string) => new X509Certificate(fs.readFileSync(file));

  it('makes a CA and a serving certificate it signs, naming the Service and loopback', () => {
    const f = ensureGenerated(dir, ['warden-admission.warden-system.svc']);
    const ca = cert(f.ca);
    const serving = cert(f.cert);
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkHost('warden-admission.warden-system.svc')).toBe(
      'warden-admission.warden-system.svc',
    );
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serving.checkHost('evil.example')).toBeUndefined();
    expect(fs.statSync(f.key).mode & 0o777).toBe(0o600);
    expect(fs.statSync(f.caKey).mode & 0o777).toBe(0o600);
  });

  it('keeps both across restarts, and reissues only the serving certificate when the names change', () => {
    const first = ensureGenerated(dir, ['a.svc']);
    const [ca, serving] = [fs.readFileSync(first.ca), fs.readFileSync(first.cert)];
    ensureGenerated(dir, ['a.svc']);
    expect(fs.readFileSync(first.cert)).toEqual(serving);
    ensureGenerated(dir, ['b.svc', '10.0.0.7']);
    expect(fs.readFileSync(first.ca)).toEqual(ca); // the caBundle in the cluster stays valid
    const again = cert(first.cert);
    expect(again.checkHost('b.svc')).toBe('b.svc');
    expect(again.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(again.verify(cert(first.ca).publicKey)).toBe(true);
  });

  it('uses given files as they are, and says when one is not a certificate', () => {
    const f = ensureGenerated(dir, ['a.svc']);
    const tls = resolveAdmissionTls(
      { host: '::', port: 0, tls: { mode: 'files', cert: f.cert, key: f.key } },
      '/x',
    );
    expect(tls.caFile).toBeUndefined();
    expect(tls.cert).toEqual(fs.readFileSync(f.cert));
    expect(() =>
      resolveAdmissionTls({ host: '::', port: 0, tls: { mode: 'files', cert: f.key, key: f.key } }, '/x'),
    ).toThrow(/is not a PEM certificate/);
  });
});
