import { ctx, minimalSpec } from '../testing/fixtures';
import { devicesCheck } from './devices.check';

describe('devicesCheck', () => {
  const rules = { devices: { allowedHostPaths: ['/dev/fuse'] } };
  const device = (hostPath: string) =>
    minimalSpec({ devices: [{ hostPath, containerPath: hostPath, permissions: 'rwm' }] });

  it('passes an allowlisted device', () => {
    expect(devicesCheck(device('/dev/fuse'), rules, ctx)).toEqual([]);
  });

  it('refuses a device off the allowlist, including look-alikes', () => {
    for (const p of ['/dev/sda', '/dev/fuse0', '/dev/fuse/../sda']) {
      const [r] = devicesCheck(device(p), rules, ctx);
      expect(r.rule).toBe('devices.allowedHostPaths');
    }
    expect(devicesCheck(device('/dev/sda'), rules, ctx)[0].message).toBe(
      'device /dev/sda is not allowed (allowed: /dev/fuse) (policy prod, rule devices.allowedHostPaths)',
    );
  });

  it('follows symlinks when realpath is injected', () => {
    const realpath = (p: string) => (p === '/dev/fuse' ? '/dev/sda' : p);
    const [r] = devicesCheck(device('/dev/fuse'), rules, { ...ctx, realpath });
    // the allowed prefix resolves too, so both sides point at /dev/sda: it is what was allowed
    expect(r).toBeUndefined();
    const [r2] = devicesCheck(device('/dev/disk/by-id/x'), rules, {
      ...ctx,
      realpath: (p) => (p === '/dev/disk/by-id/x' ? '/dev/sda' : p),
    });
    expect(r2.message).toContain('(resolves to /dev/sda) is not allowed');
  });
});
