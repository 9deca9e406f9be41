import { ctx, minimalVolume } from '../testing/fixtures';
import { volumeDriversCheck } from './volume-drivers.check';

const vol = minimalVolume;

describe('volumeDriversCheck', () => {
  it('passes a listed driver, and any driver without the rule', () => {
    expect(volumeDriversCheck(vol(), { volumes: { allowedDrivers: ['local'] } }, ctx)).toEqual([]);
    expect(volumeDriversCheck(vol({ driver: 'nfs' }), {}, ctx)).toEqual([]);
  });

  it('refuses a driver the policy does not list', () => {
    expect(
      volumeDriversCheck(vol({ driver: 'nfs' }), { volumes: { allowedDrivers: ['local'] } }, ctx),
    ).toEqual([
      {
        rule: 'volumes.allowedDrivers',
        message:
          'volume driver nfs is not allowed (allowed: local) (policy prod, rule volumes.allowedDrivers)',
        detail: { volume: 'data', driver: 'nfs', allowed: ['local'] },
      },
    ]);
  });
});
