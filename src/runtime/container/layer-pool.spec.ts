import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerFiles } from './container-files';
import { POOL_MAX_FILES, POOL_SLACK_BYTES } from './layer-pool';
import { WritableLayers, type SizedFilesystems } from './writable-layers';

const MiB = 1024 ** 2;

/** Directories stand for mounts: `mounted` is what a real host would show in its mount table. */
function fakeHost() {
  const mounted = new Set<string>();
  const makes: string[] = [];
  const sized: SizedFilesystems = {
    make: async (image, bytes, mountPoint) => {
      fs.writeFileSync(image, '');
      fs.truncateSync(image, bytes); // sparse, as the host's
      fs.mkdirSync(mountPoint, { recursive: true });
      mounted.add(mountPoint);
      makes.push(mountPoint);
    },
    ensureMounted: async (_image, mountPoint) => void mounted.add(mountPoint),
    unmount: async (mountPoint) => void mounted.delete(mountPoint),
    isMounted: (mountPoint) => mounted.has(mountPoint),
    move: (from, to) => {
      if (!mounted.delete(from)) throw new Error(`${from} is not mounted`);
      // As a bind + detach leaves it: the contents at `to`, `from` an empty directory again.
      fs.renameSync(from, to);
      fs.mkdirSync(from);
      mounted.add(to);
    },
    inodesUsed: (mountPoint) => 1 + fs.readdirSync(mountPoint, { recursive: true }).length,
  };
  return { sized, mounted, makes };
}

describe('LayerPool (through WritableLayers)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layer-pool-spec-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const create = async (layers: WritableLayers, id: string, bytes = 64 * MiB) => {
    const files = new ContainerFiles(dir, id);
    files.create(id, 'none', true);
    await layers.make(files, bytes);
    return files;
  };
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('hands a removed layer, emptied, to the next create of its size: no mkfs, nothing of the first left', async () => {
    const host = fakeHost();
    const layers = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 4 } as never });
    await layers.openPool();
    const a = await create(layers, 'a');
    await settle(); // the miss's background fill
    expect(host.makes).toHaveLength(2);
    fs.mkdirSync(path.join(a.upper, 'etc/deep'), { recursive: true });
    fs.writeFileSync(path.join(a.upper, 'etc/deep/secret'), 'of a');
    fs.writeFileSync(path.join(a.layer, 'stray'), 'outside upper');
    await layers.remove(a);
    expect(fs.existsSync(a.dir)).toBe(false);

    const b = await create(layers, 'b');
    const c = await create(layers, 'c');
    expect(host.makes).toHaveLength(2);
    for (const f of [b, c]) {
      expect(host.mounted.has(f.layer)).toBe(true);
      expect(fs.existsSync(f.layerImage)).toBe(true);
      expect(fs.readdirSync(f.layer).sort()).toEqual(['upper', 'work']);
      expect(fs.readdirSync(f.upper)).toEqual([]);
    }
    // Another size is its own pool.
    const d = await create(layers, 'd', 128 * MiB);
    expect(host.makes[2]).toBe(d.layer);
  });

  it('keeps at most WARDEN_LAYER_POOL idle layers and none that grew past the slack', async () => {
    const host = fakeHost();
    const layers = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 1 } as never });
    await layers.openPool();
    const grown = await create(layers, 'grown');
    await settle();
    fs.writeSync(fs.openSync(grown.layerImage, 'r+'), Buffer.alloc(POOL_SLACK_BYTES + 2 * MiB, 1));
    await layers.remove(grown);
    expect(host.mounted.has(grown.layer)).toBe(false); // unmounted as without the pool

    // Too many files to walk on the event loop: not kept either.
    const many = await create(layers, 'many');
    for (let i = 0; i <= POOL_MAX_FILES; i++) fs.writeFileSync(path.join(many.upper, `f${i}`), '');
    await layers.remove(many);
    expect(host.mounted.has(many.layer)).toBe(false);

    const x = await create(layers, 'x');
    const y = await create(layers, 'y');
    await settle();
    const idle = () => [...host.mounted].filter((m) => m.startsWith(path.join(dir, 'layer-pool')));
    await layers.remove(x);
    await layers.remove(y);
    expect(idle()).toHaveLength(1);
    expect(host.mounted.size).toBe(1);
  });

  it('is empty and closed after a stop, and a start deletes what a killed run left', async () => {
    const host = fakeHost();
    const layers = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 4 } as never });
    await layers.openPool();
    await layers.remove(await create(layers, 'a'));
    await settle();
    expect(host.mounted.size).toBe(2);
    await layers.closePool();
    expect(host.mounted.size).toBe(0);
    expect(fs.existsSync(path.join(dir, 'layer-pool'))).toBe(false);
    // Closed: a removal keeps nothing, a create makes its own.
    const b = await create(layers, 'b');
    await layers.remove(b);
    expect(host.mounted.size).toBe(0);

    // A killed run's leftovers: a mounted entry and its image.
    const left = path.join(dir, 'layer-pool', '7');
    fs.mkdirSync(path.dirname(left));
    await host.sized.make(`${left}.ext4`, 64 * MiB, left);
    const next = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 4 } as never });
    await next.openPool();
    expect(host.mounted.has(left)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'layer-pool'))).toBe(false);
  });

  it('skips an idle layer unmounted behind its back instead of handing out a bare directory', async () => {
    const host = fakeHost();
    const layers = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 4 } as never });
    await layers.openPool();
    await create(layers, 'a');
    await settle();
    const [entry] = [...host.mounted].filter((m) => m.startsWith(path.join(dir, 'layer-pool/')));
    host.mounted.delete(entry);
    const b = await create(layers, 'b');
    expect(host.makes).toContain(b.layer);
    expect(fs.existsSync(entry)).toBe(false);
  });

  it('with WARDEN_LAYER_POOL=0 makes a filesystem per container, as before', async () => {
    const host = fakeHost();
    const layers = new WritableLayers(host.sized, { dataDir: dir, runtime: { layerPool: 0 } as never });
    await layers.openPool();
    await layers.remove(await create(layers, 'a'));
    await create(layers, 'b');
    await settle();
    expect(host.makes).toHaveLength(2);
    expect(host.mounted.size).toBe(1);
  });
});
