import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Gives a probe a fresh directory and removes it whatever happens. Mounts made by probes
 * live in a private mount namespace that dies with its process, so by the time we rm here
 * nothing is mounted on the tree any more.
 */
export async function withScratchDir<T>(
  base: string,
  prefix: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  // The pid in the name lets a test tell its own leftovers from a concurrent run's.
  const dir = await mkdtemp(join(base, `warden-doctor-${process.pid}-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
