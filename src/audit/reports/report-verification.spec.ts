import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReportSigner } from './report-signer';
import { explainReport } from './report-verification';

describe('explainReport: offline verification, check by check', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-verify-'));
  const signer = new ReportSigner(dir);
  const pem = signer.publicKeyPem;
  const report = signer.sign({ window: { from: 'a', to: 'b' }, chain: { verified: true, rows: 12 } });
  const text = JSON.stringify(report);
  const failed = (r: ReturnType<typeof explainReport>) => r.checks.filter((c) => !c.ok);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes a report as signed, whatever its whitespace', () => {
    const r = explainReport(JSON.stringify(report, null, 2), pem);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.check)).toEqual(['public key', 'JSON', 'key', 'signature', 'chain']);
  });

  it('names a changed value as a change after signing', () => {
    const r = explainReport(text.replace('"rows":12', '"rows":13'), pem);
    expect(r.ok).toBe(false);
    expect(failed(r)).toEqual([
      expect.objectContaining({
        check: 'signature',
        detail: expect.stringMatching(/changed after it was signed/),
      }),
    ]);
  });

  it('names the wrong key, a missing signature, a damaged file and a non-Ed25519 key', () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(failed(explainReport(text, other))).toEqual([
      expect.objectContaining({ check: 'key', detail: expect.stringMatching(/signed by another Warden/) }),
    ]);
    const unsigned: Record<string, unknown> = { ...report };
    delete unsigned.signature;
    expect(failed(explainReport(JSON.stringify(unsigned), pem))[0].detail).toBe(
      'the report has no "signature" member',
    );
    expect(failed(explainReport(text.slice(0, 40), pem))[0]).toMatchObject({ check: 'JSON' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(failed(explainReport(text, rsa.toString()))[0].detail).toMatch(/an rsa key/);
    expect(failed(explainReport(text, 'not a key'))[0]).toMatchObject({ check: 'public key' });
  });

  it('a report that states its chain was broken fails the chain check', () => {
    const broken = signer.sign({ chain: { verified: false, rows: 3, firstBroken: { seq: 2 } } });
    expect(failed(explainReport(JSON.stringify(broken), pem))).toEqual([
      {
        check: 'chain',
        ok: false,
        detail: 'the report states the audit chain was broken at seq 2 when it was built',
      },
    ]);
  });
});
