import { DIGEST, ctx, minimalSpec } from '../testing/fixtures';
import { digestPinningCheck } from './digest-pinning.check';

describe('digestPinningCheck', () => {
  const rules = { images: { requireDigest: true } };

  it('passes an image pinned by digest', () => {
    const spec = minimalSpec({ image: { registry: 'corp.io', repository: 'team/app', digest: DIGEST } });
    expect(digestPinningCheck(spec, rules, ctx)).toEqual([]);
  });

  it('passes a tag when the policy does not require digests', () => {
    expect(digestPinningCheck(minimalSpec(), { images: { requireDigest: false } }, ctx)).toEqual([]);
  });

  it('refuses a tag-only reference and shows how to pin it', () => {
    const [r] = digestPinningCheck(minimalSpec(), rules, ctx);
    expect(r.rule).toBe('images.requireDigest');
    expect(r.message).toBe(
      'image corp.io/team/app:1.2.3 is not pinned by digest; use corp.io/team/app@sha256:<digest> ' +
        '(policy prod, rule images.requireDigest)',
    );
  });

  it('does not count a digest the proxy resolved as pinning, but suggests it', () => {
    const spec = minimalSpec({
      image: { registry: 'corp.io', repository: 'team/app', tag: '1', resolvedDigest: DIGEST },
    });
    const [r] = digestPinningCheck(spec, rules, ctx);
    expect(r.message).toContain(`use corp.io/team/app@${DIGEST}`);
    expect(r.detail).toEqual({ image: 'corp.io/team/app:1', resolvedDigest: DIGEST });
  });
});
