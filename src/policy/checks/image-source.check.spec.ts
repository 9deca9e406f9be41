import { ctx, minimalSpec } from '../testing/fixtures';
import { imageSourceCheck } from './image-source.check';

describe('imageSourceCheck', () => {
  const rules = { images: { allowedRegistries: ['corp.io/team', '127.0.0.1:5000', ''] } };
  const image = (registry: string, repository: string) =>
    minimalSpec({ image: { registry, repository, tag: '1' } });

  it.each([
    ['corp.io', 'team'],
    ['corp.io', 'team/x'],
    ['corp.io', 'team/x/y'],
    ['CORP.IO', 'team/x'],
    ['127.0.0.1:5000', 'anything/at/all'],
    ['', 'busybox'],
  ])('admits %s / %s', (registry, repository) => {
    expect(imageSourceCheck(image(registry, repository), rules, ctx)).toEqual([]);
  });

  it.each([
    ['corp.io', 'team-evil/x'],
    ['corp.io', 'teamx'],
    ['corp.io', 'other/team'],
    ['corp.io.evil.com', 'team/x'],
    ['corp.io:5000', 'team/x'],
    ['evil.corp.io', 'team/x'],
    ['127.0.0.1', 'x'],
    ['127.0.0.1:50001', 'x'],
    ['docker.io', 'library/busybox'],
  ])('refuses %s / %s', (registry, repository) => {
    const out = imageSourceCheck(image(registry, repository), rules, ctx);
    expect(out).toHaveLength(1);
    expect(out[0].rule).toBe('images.allowedRegistries');
    expect(out[0].message).toContain('(policy prod, rule images.allowedRegistries)');
  });

  it('names the image and what is allowed', () => {
    const [r] = imageSourceCheck(image('corp.io', 'team-evil/x'), rules, ctx);
    expect(r.message).toBe(
      'image corp.io/team-evil/x is not from an allowed registry or repository ' +
        '(allowed: corp.io/team, 127.0.0.1:5000, local images) (policy prod, rule images.allowedRegistries)',
    );
    expect(r.detail).toMatchObject({ registry: 'corp.io', repository: 'team-evil/x' });
  });

  it('refuses local images unless the empty entry is listed', () => {
    const noLocal = { images: { allowedRegistries: ['corp.io'] } };
    const [r] = imageSourceCheck(image('', 'busybox'), noLocal, ctx);
    expect(r.message).toContain('image busybox (local)');
  });

  it('matches a local repository prefix on whole segments too', () => {
    const local = { images: { allowedRegistries: ['team'] } };
    expect(imageSourceCheck(image('', 'team/app'), local, ctx)).toEqual([]);
    expect(imageSourceCheck(image('', 'team-evil/app'), local, ctx)).toHaveLength(1);
    expect(imageSourceCheck(image('corp.io', 'team/app'), local, ctx)).toHaveLength(1);
  });

  it('refuses everything when the allowlist is empty, and nothing when there is no rule', () => {
    expect(
      imageSourceCheck(image('corp.io', 'team/x'), { images: { allowedRegistries: [] } }, ctx),
    ).toHaveLength(1);
    expect(imageSourceCheck(image('evil.io', 'x'), {}, ctx)).toEqual([]);
  });
});
