import { MiB, ctx, minimalSpec } from '../testing/fixtures';
import { parsePolicyDocument } from '../document/policy-document';
import { toContainerSpec } from '../spec/container-spec';
import { blockIoCheck } from './block-io.check';

describe('block I/O limits', () => {
  const rules = {
    resources: { io: { writeBps: { max: 10 * MiB }, readIops: { max: 500 }, weight: { max: 500 } } },
  };
  const blkio = (devices: object[], weight?: number) =>
    minimalSpec({ blkio: { devices: devices as never, ...(weight !== undefined && { weight }) } });

  it('passes throttles within the caps and launches without any', () => {
    expect(
      blockIoCheck(blkio([{ path: '/dev/vda', writeBps: 10 * MiB, readIops: 100 }], 500), rules, ctx),
    ).toEqual([]);
    expect(blockIoCheck(minimalSpec(), rules, ctx)).toEqual([]);
    expect(blockIoCheck(blkio([{ path: '/dev/vda', writeBps: 99 * MiB }]), {}, ctx)).toEqual([]);
  });

  it('refuses each throttle and weight above its cap, naming device, value and rule', () => {
    const out = blockIoCheck(
      blkio(
        [
          { path: '/dev/vda', writeBps: 20 * MiB },
          { path: '/dev/vdb', readIops: 501, readBps: 1 },
        ],
        800,
      ),
      rules,
      ctx,
    );
    expect(out.map((r) => r.rule)).toEqual([
      'resources.io.writeBps.max',
      'resources.io.readIops.max',
      'resources.io.weight.max',
    ]);
    expect(out[0].message).toBe(
      'writeBps 20m/s on /dev/vda exceeds cap 10m/s (policy prod, rule resources.io.writeBps.max)',
    );
    expect(out[1].detail).toEqual({ field: 'blkio.readIops', device: '/dev/vdb', value: 501, max: 500 });
    expect(out[2].message).toContain('block I/O weight 800 exceeds cap 500');
  });

  it('reads the docker CLI flags into one entry per device, refusing what the kernel cannot take', () => {
    const ok = toContainerSpec({
      image: 'busybox',
      blkioWeight: 300,
      deviceWriteBps: [{ path: '/dev/vda', rate: '1m' }],
      deviceWriteIops: [{ path: '/dev/vda', rate: 50 }],
      deviceReadBps: [{ path: '/dev/sdb', rate: 4096 }],
    });
    expect(ok.ok && ok.spec.blkio).toEqual({
      weight: 300,
      devices: [
        { path: '/dev/sdb', readBps: 4096 },
        { path: '/dev/vda', writeBps: MiB, writeIops: 50 },
      ],
    });
    const none = toContainerSpec({ image: 'busybox', blkioWeight: 0, deviceWriteBps: [] });
    expect(none.ok && 'blkio' in none.spec).toBe(false);
    const bad = toContainerSpec({
      image: 'busybox',
      blkioWeight: 5,
      deviceWriteBps: [
        { path: '/etc/passwd', rate: '1m' },
        { path: '/dev/vda', rate: 0 },
        { path: '/dev/vdb', rate: 'fast' },
      ],
      deviceReadIops: [
        { path: '/dev/vda', rate: 1 },
        { path: '/dev/vda', rate: 2 },
      ],
    });
    expect(bad.ok ? [] : bad.errors).toEqual([
      'blkioWeight: 5 must be from 10 to 1000 (0 = unset)',
      'deviceWriteBps[0].path: "/etc/passwd" must be a device path such as /dev/sda',
      'deviceWriteBps[1].rate: 0 must be a positive rate such as 1m (bytes per second)',
      'deviceWriteBps[2].rate: "fast" must be a positive rate such as 1m (bytes per second)',
      'deviceReadIops[1]: /dev/vda is given twice',
    ]);
  });

  it('takes io caps in a policy document with sizes, refusing nonsense', () => {
    const doc = parsePolicyDocument({
      name: 'p',
      mode: 'enforce',
      rules: { resources: { io: { writeBps: { max: '50m' }, writeIops: { max: 1000 } } } },
    });
    expect(doc.ok && doc.doc.rules.resources?.io).toEqual({
      writeBps: { max: 50 * MiB },
      writeIops: { max: 1000 },
    });
    const bad = parsePolicyDocument({
      name: 'p',
      mode: 'enforce',
      rules: { resources: { io: { readBps: { max: '-1' }, weight: { max: 5000 } } } },
    });
    expect(bad.ok ? [] : bad.errors).toEqual([
      'rules.resources.io.readBps.max: "-1" must be a positive size such as 512m or 2g',
      'rules.resources.io.weight.max: 5000 must be from 10 to 1000',
    ]);
  });
});
