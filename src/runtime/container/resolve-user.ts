import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/**
 * Resolves `user[:group]` (names or numbers) the way Docker does: names are looked up in
 * the image's /etc/passwd and /etc/group, numbers need no entry, supplementary groups are
 * the groups that list the user. `roots` are the image's layer dirs, top first: a file is
 * read from the first layer that has it (a layer deleting /etc/passwd is rare enough that
 * whiteouts are not followed here).
 */
export function resolveUser(spec: string | undefined, roots: string[]): ResolvedUser {
  const [userPart = '', groupPart] = (spec ?? '').split(':');
  const passwd = parseDb(readFromLayers(roots, 'etc/passwd'), 7);
  const groups = parseDb(readFromLayers(roots, 'etc/group'), 4);

  let uid = 0;
  let gid = 0;
  let name = 'root';
  let home = '/';
  if (userPart !== '') {
    const entry = /^\d+$/.test(userPart)
      ? passwd.find((p) => p[2] === userPart)
      : passwd.find((p) => p[0] === userPart);
    if (entry) {
      [name, , , , , home] = entry;
      uid = Number(entry[2]);
      gid = Number(entry[3]);
    } else if (/^\d+$/.test(userPart)) {
      uid = Number(userPart);
      name = '';
    } else {
      throw new Error(`unable to find user ${userPart}: no matching entries in the image's /etc/passwd`);
    }
  } else {
    const root = passwd.find((p) => p[2] === '0');
    if (root) home = root[5];
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x[0] === groupPart);
      if (!g)
        throw new Error(`unable to find group ${groupPart}: no matching entries in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  const additionalGids = name
    ? groups.filter((g) => g[3].split(',').includes(name) && Number(g[2]) !== gid).map((g) => Number(g[2]))
    : [];
  return { uid, gid, additionalGids, home: home || '/' };
}

function readFromLayers(roots: string[], rel: string): string {
  for (const root of roots) {
    const p = path.join(root, rel);
    try {
      // lstat first: a symlinked /etc/passwd would point at the host's file from here.
      if (fs.lstatSync(p).isFile()) return fs.readFileSync(p, 'utf8');
    } catch {
      /* not in this layer */
    }
  }
  return '';
}

function parseDb(text: string, fields: number): string[][] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= fields - 1)
    .map((f) => [...f, ...Array(Math.max(0, fields - f.length)).fill('')]);
}
