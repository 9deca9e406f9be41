import { DIGEST, ctx, minimalSpec } from '../testing/fixtures';
import { latestTagCheck } from './latest-tag.check';

describe('latestTagCheck', () => {
  const rules = { images: { forbidLatest: true } };
  const image = (tag?: string, digest?: string) =>
    minimalSpec({
      image: { registry: 'corp.io', repository: 'app', ...(tag && { tag }), ...(digest && { digest }) },
    });

  it('passes a version tag', () => {
    expect(latestTagCheck(image('1.2.3'), rules, ctx)).toEqual([]);
  });

  it('passes a digest without a tag', () => {
    expect(latestTagCheck(image(undefined, DIGEST), rules, ctx)).toEqual([]);
  });

  it('passes latest when the policy does not forbid it', () => {
    expect(latestTagCheck(image('latest'), {}, ctx)).toEqual([]);
  });

  it('refuses tag latest', () => {
    const [r] = latestTagCheck(image('latest'), rules, ctx);
    expect(r.rule).toBe('images.forbidLatest');
    expect(r.message).toBe(
      'image corp.io/app:latest uses tag latest; use a version tag or a digest (policy prod, rule images.forbidLatest)',
    );
  });

  it('refuses no tag and no digest, which Docker reads as latest', () => {
    const [r] = latestTagCheck(image(), rules, ctx);
    expect(r.message).toContain('image corp.io/app has no tag, which means latest');
  });

  it('refuses an explicit latest even beside a digest', () => {
    expect(latestTagCheck(image('latest', DIGEST), rules, ctx)).toHaveLength(1);
  });
});
