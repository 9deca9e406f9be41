import type { Readable } from 'node:stream';

/**
 * How long an exec's output may stay open after its process exits: a process it left in the
 * background can hold the pipes for ever, and the exec's end is recorded without waiting for it.
 */
const AFTER_EXIT_MS = 2000;

function ended(s: Readable | null): Promise<void> {
  if (!s || s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
    s.once('error', () => resolve());
  });
}

/** Resolves when the exec's stdout and stderr have ended (every chunk relayed), or after the grace. */
export async function streamsDone(p: { stdout: Readable | null; stderr: Readable | null }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([ended(p.stdout), ended(p.stderr)]),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, AFTER_EXIT_MS))),
  ]);
  clearTimeout(timer);
}
