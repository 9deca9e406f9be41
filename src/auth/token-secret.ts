import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tokens are shown once and stored as sha256: a database leak gives no usable token. */
export function newTokenSecret(): string {
  return `wdn_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
