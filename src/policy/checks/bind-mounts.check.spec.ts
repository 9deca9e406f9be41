import { ctx, minimalSpec } from '../testing/fixtures';
import { bindMountsCheck } from './bind-mounts.check';

describe('bindMountsCheck', () => {
  const rules = { binds: { allowedHostPaths: ['/data', '/srv/shared/'] } };
  const bind = (source: string) => minimalSpec({ binds: [{ source, target: '/mnt', readOnly: true }] });

  it.each(['/data', '/data/', '/data/x', '/data/a/../b', '/srv/shared/y', '/data//x'])(
    'admits %s',
    (source) => {
      expect(bindMountsCheck(bind(source), rules, ctx)).toEqual([]);
    },
  );

  it.each([
    '/database',
    '/data-evil/x',
    '/data/../etc',
    '/data/x/../../etc/shadow',
    '/srv',
    '/',
    '/etc',
    'data/x',
  ])('refuses %s', (source) => {
    const out = bindMountsCheck(bind(source), rules, ctx);
    expect(out).toHaveLength(1);
    expect(out[0].rule).toBe('binds.allowedHostPaths');
  });

  it('names the path and the allowlist, and shows the normalized path in detail', () => {
    const [r] = bindMountsCheck(bind('/data/../etc'), rules, ctx);
    expect(r.message).toBe(
      'bind mount host path /data/../etc is outside the allowed host paths (/data, /srv/shared/) ' +
        '(policy prod, rule binds.allowedHostPaths)',
    );
    expect(r.detail).toMatchObject({ normalized: '/etc', resolved: null });
  });

  it('refuses every bind when the allowlist is empty, and passes any when there is no rule', () => {
    expect(bindMountsCheck(bind('/data'), { binds: { allowedHostPaths: [] } }, ctx)).toHaveLength(1);
    expect(bindMountsCheck(bind('/etc'), {}, ctx)).toEqual([]);
  });

  describe('with an injected realpath', () => {
    const links: Record<string, string> = {
      '/data/escape': '/etc',
      '/data/inner': '/data/real',
      '/alias': '/data',
    };
    const realpath = (p: string) => {
      if (p === '/data/broken') throw new Error('ENOENT: no such file or directory');
      for (const [link, to] of Object.entries(links))
        if (p === link || p.startsWith(`${link}/`)) return to + p.slice(link.length);
      return p;
    };
    const withRealpath = { ...ctx, realpath };

    it('refuses a symlink that climbs out, and says where it leads', () => {
      const [r] = bindMountsCheck(bind('/data/escape/shadow'), rules, withRealpath);
      expect(r.message).toContain('resolves to /etc/shadow, outside the allowed host paths');
      expect(r.detail).toMatchObject({ resolved: '/etc/shadow' });
    });

    it('admits a symlink that stays inside', () => {
      expect(bindMountsCheck(bind('/data/inner/x'), rules, withRealpath)).toEqual([]);
    });

    it('admits a path that resolves into an allowed prefix', () => {
      expect(bindMountsCheck(bind('/alias/x'), rules, withRealpath)).toEqual([]);
    });

    it('refuses a path it cannot resolve (fail closed) without throwing', () => {
      const [r] = bindMountsCheck(bind('/data/broken'), rules, withRealpath);
      expect(r.message).toContain('could not be resolved (ENOENT');
    });

    it('without realpath the same symlink is judged as written (the caller must inject it)', () => {
      expect(bindMountsCheck(bind('/data/escape/shadow'), rules, ctx)).toEqual([]);
    });
  });
});
