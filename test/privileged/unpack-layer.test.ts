/*
 * Layer unpacking against the real filesystem and kernel (root: lchown, mknod of whiteouts,
 * trusted.* xattrs, overlay mounts): the busybox image, whiteouts and opaque dirs seen
 * through a real overlay mount, every hostile layer refused with nothing left behind, and
 * fixtures that hash the same on every build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WardenError } from '../../src/platform/errors';
import { FsBlobStore } from '../../src/images/store';
import { createLibcSyscalls } from '../../src/platform/ffi/libc';
import { LayerUnpacker, prepareLayers, prepareLowerdirs } from '../../src/images/layers';
import { dockerSave, ociArchive } from '../fixtures/images/archives';
import {
  busyboxImage,
  busyboxLayerTar,
  HOSTILE_LAYERS,
  hostileLayerTar,
  multiLayerImage,
} from '../fixtures/images/fixture-images';
import { BuiltImage, LAYER_TAR, LAYER_TAR_GZIP, sha256, tarOf } from '../fixtures/images/oci-image';
import { busyboxAvailable } from '../fixtures/rootfs/busybox-rootfs';

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('unpack tests skipped: they need root (lchown, mknod, trusted.* xattrs, overlay mounts)');
const describeRoot = isRoot && busyboxAvailable() ? describe : describe.skip;

const sys = createLibcSyscalls();
let dir: string;
let store: FsBlobStore;
let unpacker: LayerUnpacker;
let layersDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-unpack-'));
  store = new FsBlobStore(join(dir, 'store'));
  layersDir = join(dir, 'layers');
  unpacker = new LayerUnpacker(layersDir, store, sys);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function storeImage(image: BuiltImage) {
  for (const b of image.blobs.values()) await store.put(b.bytes, { expectedDigest: b.digest });
  return image.layers.map((l, i) => ({ digest: l.digest, diffId: image.diffIds[i], mediaType: l.mediaType }));
}

async function storeLayer(tarBytes: Buffer, gzip = false) {
  const bytes = gzip ? gzipSync(tarBytes) : tarBytes;
  const { digest } = await store.put(bytes);
  return { digest, diffId: sha256(tarBytes), mediaType: gzip ? LAYER_TAR_GZIP : LAYER_TAR };
}

/** Nothing but finished layer dirs (and their facts) may be in the layers dir. */
function leftovers(): string[] {
  return existsSync(layersDir) ? readdirSync(layersDir) : [];
}

async function refusal(p: Promise<unknown>): Promise<WardenError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WardenError) return err;
    throw err;
  }
  throw new Error('expected the layer to be refused');
}

describeRoot('unpackLayer', () => {
  it.each([false, true])(
    'unpacks the busybox layer (gzip %s): applet links, modes, owner, times',
    async (gzip) => {
      const [layer] = await storeImage(await busyboxImage({ gzip }));
      const out = await unpacker.unpack(layer);
      expect(out).toBe(join(layersDir, layer.diffId.slice(7)));
      expect(readlinkSync(join(out, 'bin/sh'))).toBe('/bin/busybox');
      const bb = lstatSync(join(out, 'bin/busybox'));
      expect(bb.mode & 0o7777).toBe(0o755);
      expect([bb.uid, bb.gid]).toEqual([0, 0]);
      expect(bb.mtime.toISOString()).toBe('2020-01-01T00:00:00.000Z');
      expect(lstatSync(join(out, 'tmp')).mode & 0o7777).toBe(0o1777);
      expect(lstatSync(join(out, 'etc')).mtime.toISOString()).toBe('2020-01-01T00:00:00.000Z');
      expect(execFileSync(join(out, 'bin/busybox'), ['echo', 'ok'], { encoding: 'utf8' })).toBe('ok\n');
      // Once per diff_id: a second unpack finds the dir and leaves it alone.
      const ino = lstatSync(join(out, 'bin/busybox')).ino;
      expect(await unpacker.unpack(layer)).toBe(out);
      expect(lstatSync(join(out, 'bin/busybox')).ino).toBe(ino);
      expect(leftovers().sort()).toEqual([layer.diffId.slice(7), `${layer.diffId.slice(7)}.json`].sort());
    },
  );

  it('concurrent unpacks of one layer make one directory', async () => {
    const layer = await storeLayer(await busyboxLayerTar(), true);
    const dirs = await Promise.all([1, 2, 3].map(() => unpacker.unpack(layer)));
    expect(new Set(dirs).size).toBe(1);
    expect(leftovers()).toHaveLength(2);
  });

  it('refuses a layer whose uncompressed bytes do not hash to its diff_id, leaving nothing', async () => {
    const layer = await storeLayer(await busyboxLayerTar(), true);
    const wrong = sha256('something else');
    const err = await refusal(unpacker.unpack({ ...layer, diffId: wrong }));
    expect(err.code).toBe('LAYER_INVALID');
    expect(err.message).toContain(
      `the image config says ${wrong}, the uncompressed layer hashes to ${sha256(await busyboxLayerTar())}`,
    );
    expect(leftovers()).toEqual([]);
  });

  it('refuses a corrupt gzip stream with a clear error and leaves nothing', async () => {
    const good = gzipSync(await busyboxLayerTar());
    const { digest } = await store.put(Buffer.concat([good.subarray(0, 5000), Buffer.alloc(100, 7)]));
    const err = await refusal(unpacker.unpack({ digest, diffId: sha256('x'), mediaType: LAYER_TAR_GZIP }));
    expect(err.code).toBe('LAYER_INVALID');
    expect(err.message).toMatch(/could not be read/);
    expect(leftovers()).toEqual([]);
  });

  describe('hostile layers', () => {
    it.each(HOSTILE_LAYERS.map((h) => [h.name, h] as const))(
      'refuses %s, naming the entry, leaving nothing',
      async (_n, h) => {
        const layer = await storeLayer(await hostileLayerTar(h));
        const err = await refusal(unpacker.unpack(layer, h.options));
        expect(err.code).toBe('LAYER_REFUSED');
        expect(err.message).toMatch(new RegExp(`^layer ${layer.digest.slice(0, 19)}… `));
        expect(err.message).toMatch(h.message);
        expect(err.detail).toMatchObject({ layer: layer.digest, diffId: layer.diffId });
        expect(leftovers()).toEqual([]);
        expect(existsSync('/etc/cron.d/evil')).toBe(false);
      },
    );

    it('keeps setuid bits by default, and refuses the cached layer later under refuseSetuid', async () => {
      const setuid = HOSTILE_LAYERS.find((h) => h.name === 'setuid binary')!;
      const layer = await storeLayer(await hostileLayerTar(setuid));
      const out = await unpacker.unpack(layer);
      expect(lstatSync(join(out, 'bin/su')).mode & 0o7777).toBe(0o4755);
      const err = await refusal(unpacker.unpack(layer, { refuseSetuid: true }));
      expect(err.message).toMatch(/entry 'bin\/su': setuid\/setgid file refused by policy/);
    });

    it('creates device nodes outside /dev only when devices are allowed', async () => {
      const device = HOSTILE_LAYERS.find((h) => h.name === 'device node outside /dev')!;
      const layer = await storeLayer(await hostileLayerTar(device));
      const out = await unpacker.unpackLayer(layer, { allowDevices: true });
      const s = lstatSync(join(out.dir, 'usr/mem'));
      expect(s.isCharacterDevice()).toBe(true);
      expect(s.rdev).toBe((1 << 8) | 1);
      expect(out.device).toBe('usr/mem');
      const err = await refusal(unpacker.unpack(layer));
      expect(err.message).toMatch(/entry 'usr\/mem': device nodes and fifos outside \/dev are not allowed/);
      expect(err.detail).toMatchObject({ kind: 'device', entry: 'usr/mem' });
    });
  });

  it('leaves out device nodes and fifos under dev/ (as mmdebstrap leaves them), keeping the rest', async () => {
    const tarBytes = await tarOf([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './dev/', type: 'directory', mode: 0o755 },
      { name: './dev/console', type: 'character-device', devmajor: 5, devminor: 1, mode: 0o600 },
      { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: './dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660 },
      { name: './dev/initctl', type: 'fifo', mode: 0o600 },
      { name: './dev/fd', type: 'symlink', linkname: '/proc/self/fd' },
      { name: './etc/', type: 'directory', mode: 0o755 },
      { name: './etc/hostname', content: 'debian\n' },
    ]);
    const layer = await storeLayer(tarBytes);
    const out = await unpacker.unpackLayer(layer);
    expect(out.skippedDevices).toEqual(['./dev/console', './dev/null', './dev/loop0', './dev/initctl']);
    expect(out.device).toBeUndefined();
    expect(readdirSync(join(out.dir, 'dev'))).toEqual(['fd']);
    expect(readlinkSync(join(out.dir, 'dev/fd'))).toBe('/proc/self/fd');
    // Known from the facts on the next call too, without unpacking again.
    expect((await unpacker.unpackLayer(layer)).skippedDevices).toHaveLength(4);
    const planned = await prepareLayers(unpacker, [layer]);
    expect(planned.skippedDevices).toEqual(['dev/console', 'dev/null', 'dev/loop0', 'dev/initctl']);
    expect(planned.deviceNodes).toEqual([]);
  });

  it('turns OCI whiteouts into overlay whiteouts that a real overlay mount honours', async () => {
    const layers = await storeImage(await multiLayerImage(true));
    const lowerdirs = await prepareLowerdirs(unpacker, layers);
    expect(lowerdirs).toEqual([...layers].reverse().map((l) => join(layersDir, l.diffId.slice(7))));
    const [upper] = lowerdirs;
    const wh = lstatSync(join(upper, 'data/gone'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(sys.lgetxattr(join(upper, 'opq'), 'trusted.overlay.opaque')?.toString()).toBe('y');

    const [up, work, merged] = ['upper', 'work', 'merged'].map((d) => join(dir, d));
    for (const d of [up, work, merged]) mkdirSync(d);
    // A private mount namespace: the mount disappears with the shell, whatever happens here.
    const script =
      'set -e; mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"; cd "$4"; ls data; echo --; ls opq';
    const out = execFileSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'sh',
        lowerdirs.join(':'),
        up,
        work,
        merged,
      ],
      { encoding: 'utf8' },
    );
    expect(out).toBe('keep\n--\nupper-c\n');
  });

  it('builds the same bytes every time (reproducible digests)', async () => {
    const [a, b] = [await busyboxImage({ gzip: true }), await busyboxImage({ gzip: true })];
    expect(a.manifest.digest).toBe(b.manifest.digest);
    const [m1, m2] = [await multiLayerImage(), await multiLayerImage()];
    expect(m1.manifest.digest).toBe(m2.manifest.digest);
    expect(sha256(await ociArchive(a, 'busybox:latest'))).toBe(sha256(await ociArchive(b, 'busybox:latest')));
    expect(sha256(await dockerSave(m1, ['multi:1']))).toBe(sha256(await dockerSave(m2, ['multi:1'])));
  });
});
