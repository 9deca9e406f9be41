import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalJson, sha256Hex } from '../../platform/canonical';

export interface ReportSignature {
  algorithm: 'Ed25519';
  keyId: string;
  /** base64 Ed25519 signature over canonicalJson(report without `signature`). */
  value: string;
}

/**
 * Warden's report-signing key: Ed25519, generated on first use and kept in
 * `$WARDEN_DATA_DIR/keys/report-signing.pem` (0600). Its public half is published at
 * GET /reports/public-key, so an auditor verifies a report without trusting the channel
 * it came through. The key id is the first 16 hex digits of sha256(SPKI DER).
 */
export class ReportSigner {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(dataDir: string) {
    const file = path.join(dataDir, 'keys', 'report-signing.pem');
    if (!fs.existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // wx: two processes starting at once must not overwrite each other's key.
      try {
        fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
          mode: 0o600,
          flag: 'wx',
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    this.privateKey = createPrivateKey(fs.readFileSync(file));
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = sha256Hex(this.publicKey.export({ format: 'der', type: 'spki' })).slice(0, 16);
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  sign<T extends object>(body: T): T & { signature: ReportSignature } {
    const value = sign(null, Buffer.from(canonicalJson(body)), this.privateKey).toString('base64');
    return { ...body, signature: { algorithm: 'Ed25519', keyId: this.keyId, value } };
  }
}

/** Verifies a signed report (as JSON text or parsed) against a PEM public key. */
export function verifyReport(report: string | Record<string, unknown>, publicKeyPem: string): boolean {
  const parsed = typeof report === 'string' ? (JSON.parse(report) as Record<string, unknown>) : report;
  const { signature, ...body } = parsed as { signature?: ReportSignature };
  if (!signature || signature.algorithm !== 'Ed25519') return false;
  return verify(
    null,
    Buffer.from(canonicalJson(body)),
    createPublicKey(publicKeyPem),
    Buffer.from(signature.value, 'base64'),
  );
}
