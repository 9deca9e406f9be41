import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where a data dir keeps the node name it was first started under. */
export const NODE_NAME_FILE = 'node-name';

/**
 * A node's default name, stable for its data dir: the name kept in the data dir (written at
 * its first start, see src/fleet/settle-node-name.ts), else the host name plus a hash of the
 * data dir, so several Wardens on one host (each its own data dir) are distinct nodes.
 */
export function defaultNodeName(dataDir: string): string {
  try {
    const kept = fs.readFileSync(path.join(dataDir, NODE_NAME_FILE), 'utf8').trim();
    if (kept) return kept;
  } catch {
    // not kept yet
  }
  const host =
    os
      .hostname()
      .replace(/[^a-zA-Z0-9_.-]/g, '-')
      .slice(0, 54) || 'node';
  return `${host}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
}

/**
 * Keeps the name this data dir's node first ran under (a kept name is never replaced), so the
 * default stays what it was even if the host is renamed.
 */
export function rememberNodeName(dataDir: string, node: string): void {
  const file = path.join(dataDir, NODE_NAME_FILE);
  if (fs.existsSync(file)) return;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${node}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
