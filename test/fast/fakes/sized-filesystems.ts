import * as fs from 'node:fs';
import type { SizedFilesystems } from '../../../src/runtime';

/**
 * Sized writable layers without mounts (no root): the image file is an empty marker and the
 * layer a plain directory, so the lifecycle takes the sized path; its ENOSPC is the privileged
 * tier's to test (test/privileged/storage-limit.test.ts).
 */
export const plainDirectoryLayers: SizedFilesystems = {
  make: async (image, _bytes, mountPoint) => {
    fs.writeFileSync(image, '');
    fs.mkdirSync(mountPoint, { recursive: true });
  },
  ensureMounted: async () => undefined,
  unmount: async () => undefined,
  // Never mounted, so the layer pool keeps none of them: its reuse is the privileged tier's too.
  isMounted: () => false,
  move: (from, to) => {
    fs.renameSync(from, to);
    fs.mkdirSync(from);
  },
  inodesUsed: (mountPoint) => 1 + fs.readdirSync(mountPoint, { recursive: true }).length,
};
