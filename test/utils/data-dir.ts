import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Mount points at or under `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .filter(Boolean)
    // Field 5 is the mount point, with spaces and the like octal-escaped.
    .map((l) => l.split(' ')[4].replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Removes a test Warden's data dir. A Warden that was killed (not stopped) can leave sized
 * writable layers and volumes loop-mounted in it; they are detached first, or the removal
 * fails with EBUSY.
 */
export function removeDataDir(dir: string): void {
  for (const point of mountsUnder(dir)) execFileSync('umount', ['-l', point]);
  fs.rmSync(dir, { recursive: true, force: true });
}
