/**
 * Pure rules for one tar entry of an image layer: where it may land and what it means.
 * `unpack-layer.ts` applies them; kept apart so each rule is readable (and testable) alone.
 *
 * Whiteouts follow the OCI image-spec (layer.md, "Whiteouts"): `.wh.<name>` deletes <name>
 * from the layers below, `.wh..wh..opq` hides everything below in its directory. Other
 * `.wh..wh.` names are AUFS bookkeeping (hard-link dirs) and carry nothing for overlay.
 */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
const AUFS_META_PREFIX = '.wh..wh.';

export class EntryRefused extends Error {
  constructor(
    readonly entry: string,
    readonly reason: string,
    /** `device`: a device node or fifo, which a policy may allow (images.allowDeviceNodes). */
    readonly kind?: 'device',
  ) {
    super(reason);
  }
}

/**
 * Device nodes and fifos under the image's `/dev` are skipped at unpack: the container gets
 * its own `/dev` mounted over it, so they could never be reached (and `debootstrap`,
 * `mmdebstrap` and `docker export` trees all carry `dev/console`, `dev/null`…). Docker
 * unpacks them and masks them the same way; skipping them keeps them off the host's disk.
 */
export function isUnderDev(components: string[]): boolean {
  return components.length > 1 && components[0] === 'dev';
}

/**
 * The entry's path as components below the layer root. Tar producers write `./etc/x`,
 * `etc/x` or `etc/x/`; all mean the same. Absolute names and any `..` are refused outright
 * rather than cleaned: a layer that contains them was built to escape, not by accident.
 */
export function entryComponents(name: string): string[] {
  if (name.includes('\0')) throw new EntryRefused(name, 'path contains a NUL byte');
  if (name.startsWith('/')) throw new EntryRefused(name, 'absolute path; layer entries must be relative');
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new EntryRefused(name, 'path escapes the layer');
  return parts;
}

export type Whiteout =
  { kind: 'none' } | { kind: 'file'; name: string } | { kind: 'opaque' } | { kind: 'ignore' };

/** What a base name means as an OCI whiteout. */
export function whiteoutOf(entry: string, base: string): Whiteout {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque' };
  if (base.startsWith(AUFS_META_PREFIX)) return { kind: 'ignore' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..')
    throw new EntryRefused(entry, `whiteout names no file ('${name}')`);
  return { kind: 'file', name };
}

/**
 * A symlink may point anywhere absolute: at runtime it resolves inside the container's root,
 * never the host's. A relative target must stay inside the layer when followed from the
 * link's own directory; one that climbs above the root only makes sense as an escape.
 */
export function checkSymlinkTarget(entry: string, components: string[], target: string): void {
  if (target === '') throw new EntryRefused(entry, 'symlink has an empty target');
  if (target.includes('\0')) throw new EntryRefused(entry, 'symlink target contains a NUL byte');
  if (target.startsWith('/')) return;
  let depth = components.length - 1; // the link's directory, counted from the layer root
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    depth += c === '..' ? -1 : 1;
    if (depth < 0) throw new EntryRefused(entry, `symlink target '${target}' points outside the layer`);
  }
}

/** A hard link's target names another entry of the same layer, by its path from the root. */
export function hardLinkTarget(entry: string, linkname: string): string {
  try {
    const parts = entryComponents(linkname);
    if (parts.length === 0) throw new EntryRefused(entry, 'hard link to the layer root');
    return parts.join('/');
  } catch (err) {
    if (err instanceof EntryRefused)
      throw new EntryRefused(entry, `hard link target '${linkname}' is outside the layer (${err.reason})`);
    throw err;
  }
}

export const SETID_BITS = 0o6000;

/** `layer sha256:0123456789ab… entry 'x': why` — short enough to read, detail keeps the full digest. */
export function refusalMessage(layerDigest: string, entry: string, reason: string): string {
  const short = layerDigest.length > 19 ? `${layerDigest.slice(0, 19)}…` : layerDigest;
  return `layer ${short} entry '${entry}': ${reason}`;
}
