import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../platform/canonical';
import type { ReportSignature } from './report-signer';

export interface ReportCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface ReportVerification {
  ok: boolean;
  checks: ReportCheck[];
}

const keyIdOf = (k: KeyObject) => sha256Hex(k.export({ format: 'der', type: 'spki' })).slice(0, 16);

/**
 * Verifies a report offline, check by check, stopping at the first that cannot go on: the
 * file is JSON, carries an Ed25519 signature, the key is the one it names, and the
 * signature holds over the canonical JSON. Then what the report itself says about the
 * chain it was built from. Each failure says what was wrong, so an auditor knows whether
 * the file was damaged, changed, or checked against the wrong key.
 */
export function explainReport(reportText: string, publicKeyPem: string): ReportVerification {
  const checks: ReportCheck[] = [];
  const done = () => ({ ok: checks.every((c) => c.ok), checks });
  const fail = (check: string, detail: string) => (checks.push({ check, ok: false, detail }), done());
  const pass = (check: string, detail: string) => checks.push({ check, ok: true, detail });

  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (err) {
    return fail('public key', `not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    return fail(
      'public key',
      `an ${key.asymmetricKeyType ?? 'unknown'} key; reports are signed with Ed25519`,
    );
  pass('public key', `Ed25519, key id ${keyIdOf(key)}`);

  let report: unknown;
  try {
    report = JSON.parse(reportText);
  } catch (err) {
    return fail('JSON', `the file is not JSON (${(err as Error).message}): damaged, or not a report.json`);
  }
  if (!report || typeof report !== 'object' || Array.isArray(report))
    return fail('JSON', 'the file is JSON but not an object: not a report.json');
  pass('JSON', 'parsed');

  const { signature, ...body } = report as { signature?: Partial<ReportSignature> } & Record<string, unknown>;
  if (!signature || typeof signature !== 'object')
    return fail('signature', 'the report has no "signature" member');
  if (signature.algorithm !== 'Ed25519')
    return fail('signature', `algorithm ${JSON.stringify(signature.algorithm)}; only Ed25519 is used`);
  if (typeof signature.value !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(signature.value))
    return fail('signature', 'signature.value is not base64');
  if (signature.keyId !== keyIdOf(key))
    return fail(
      'key',
      `the report names key ${String(signature.keyId)}, the public key given is ${keyIdOf(key)}: it was signed by another Warden (or its key was replaced); fetch that Warden's GET /reports/public-key`,
    );
  pass('key', `the report names key ${signature.keyId}, the one given`);

  if (!verify(null, Buffer.from(canonicalJson(body)), key, Buffer.from(signature.value, 'base64')))
    return fail(
      'signature',
      'the Ed25519 signature does not match the content: the report was changed after it was signed',
    );
  pass('signature', 'valid over the canonical JSON of the report without "signature"');

  const chain = body.chain as
    { verified?: boolean; rows?: number; firstBroken?: { seq?: number } } | undefined;
  if (chain && chain.verified === false)
    fail(
      'chain',
      `the report states the audit chain was broken at seq ${chain.firstBroken?.seq ?? '?'} when it was built`,
    );
  else if (chain)
    pass('chain', `the report states the audit chain verified from genesis (${chain.rows ?? '?'} rows)`);
  return done();
}
