import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerFiles } from './container-files';
import { WritableLayers, type SizedFilesystems } from './writable-layers';

describe('WritableLayers', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-spec-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes at most 2 sized layers at once and every one of a burst of 7', async () => {
    let now = 0;
    let most = 0;
    const made: string[] = [];
    const sized: SizedFilesystems = {
      make: async (_image, _bytes, mountPoint) => {
        most = Math.max(most, ++now);
        await new Promise((r) => setTimeout(r, 5));
        fs.mkdirSync(mountPoint, { recursive: true });
        made.push(mountPoint);
        now--;
      },
      ensureMounted: async () => undefined,
      unmount: async () => undefined,
      isMounted: () => false,
      move: () => undefined,
      inodesUsed: () => 0,
    };
    const layers = new WritableLayers(sized, { dataDir: dir, runtime: { layerPool: 4 } as never });
    const ids = Array.from({ length: 7 }, (_, i) => `c${i}`);
    await Promise.all(
      ids.map((id) => {
        const files = new ContainerFiles(dir, id);
        files.create(id, 'none', true);
        return layers.make(files, 64 * 1024 ** 2);
      }),
    );
    expect(most).toBe(2);
    expect(made).toHaveLength(7);
    for (const id of ids) expect(fs.existsSync(new ContainerFiles(dir, id).upper)).toBe(true);
  });
});
