import { ctx, MiB, minimalVolume } from '../testing/fixtures';
import { volumeOptionsCheck } from './volume-options.check';

const vol = minimalVolume;

describe('volumeOptionsCheck', () => {
  it('passes listed options and a size within the cap', () => {
    const rules = { volumes: { allowedOptions: ['size'], size: { max: 64 * MiB } } };
    expect(volumeOptionsCheck(vol({ sizeBytes: 64 * MiB }), rules, ctx)).toEqual([]);
    expect(volumeOptionsCheck(vol({ options: { device: '/etc' } }), {}, ctx)).toEqual([]);
  });

  it('refuses options that reach the host, one reason each', () => {
    const r = volumeOptionsCheck(
      vol({ options: { type: 'none', device: '/etc' } }),
      { volumes: { allowedOptions: ['size'] } },
      ctx,
    );
    expect(r.map((x) => [x.rule, x.detail.option])).toEqual([
      ['volumes.allowedOptions', 'type'],
      ['volumes.allowedOptions', 'device'],
    ]);
    expect(r[1].message).toBe(
      'volume option device is not allowed (allowed: size) (policy prod, rule volumes.allowedOptions)',
    );
  });

  it('counts size as an option, caps it, and can require one', () => {
    expect(
      volumeOptionsCheck(vol({ sizeBytes: MiB * 8 }), { volumes: { allowedOptions: [] } }, ctx)[0].rule,
    ).toBe('volumes.allowedOptions');
    expect(
      volumeOptionsCheck(vol({ sizeBytes: 128 * MiB }), { volumes: { size: { max: 64 * MiB } } }, ctx),
    ).toEqual([
      {
        rule: 'volumes.size.max',
        message: 'volume size 128m exceeds the cap 64m (policy prod, rule volumes.size.max)',
        detail: { volume: 'data', sizeBytes: 128 * MiB, max: 64 * MiB },
      },
    ]);
    expect(volumeOptionsCheck(vol(), { volumes: { size: { required: true } } }, ctx)[0].rule).toBe(
      'volumes.size.required',
    );
  });
});
