import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A file of this package (`bin/warden.js`, the shim binary), found by walking up from this
 * compiled file: the same from src/ under ts-node or jest, from dist/, and from a bench's
 * build (which links `bin` and `native` beside itself). Undefined when no directory above has it.
 */
export function findPackageFile(relativePath: string): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
