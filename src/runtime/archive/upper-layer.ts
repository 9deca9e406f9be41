import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { Syscalls } from '../../platform/ffi';
import { addTarEntry } from '../../platform/streams';

/**
 * A container's writable layer (the overlay's upper dir) as an OCI layer tar, for `docker
 * commit`. overlayfs marks a deletion with a 0/0 character device and a directory that hides
 * everything below with `trusted.overlay.opaque=y`; the OCI image-spec (layer.md,
 * "Whiteouts") writes them as `.wh.<name>` and `<dir>/.wh..wh..opq`. Entries are sorted so
 * the same upper dir gives the same bytes; hard links inside the layer stay links.
 *
 * The files Warden bind-mounts over the image's (`/etc/hostname`, `/etc/hosts`,
 * `/etc/resolv.conf`) are left out when the upper dir holds only their empty mount points,
 * as Docker leaves its own out of a commit.
 */
const MOUNT_POINTS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf']);

export function upperLayerTar(upper: string, sys: Syscalls): Readable {
  const pack = tar.pack();
  const links = new Map<string, string>();
  // A file entry given no body is a stream to end: whiteouts get an empty buffer.
  const add = (header: Partial<tar.Header> & { name: string }, body?: Readable) =>
    addTarEntry(pack, header, body ?? (header.type ? undefined : Buffer.alloc(0)));
  const walk = async (rel: string): Promise<void> => {
    for (const name of fs.readdirSync(path.join(upper, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(upper, r);
      const st = fs.lstatSync(abs);
      const base = { name: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isCharacterDevice() && st.rdev === 0) {
        await add({ ...base, name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, size: 0 });
      } else if (st.isDirectory()) {
        await add({ ...base, type: 'directory' });
        if (sys.lgetxattr(abs, 'trusted.overlay.opaque')?.toString() === 'y')
          await add({ ...base, name: `${r}/.wh..wh..opq`, mode: 0o644, size: 0 });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        await add({ ...base, type: 'symlink', linkname: fs.readlinkSync(abs) });
      } else if (st.isFile()) {
        if (MOUNT_POINTS.has(r) && st.size === 0) continue;
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          await add({ ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, r);
        await add({ ...base, size: st.size }, fs.createReadStream(abs));
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        await add({
          ...base,
          type: st.isFIFO() ? 'fifo' : st.isBlockDevice() ? 'block-device' : 'character-device',
          // Linux's dev_t: major in bits 8-19, minor in 0-7 and 20-31.
          devmajor: (st.rdev >> 8) & 0xfff,
          devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
        });
      }
      // Sockets have no tar form; Docker leaves them out too.
    }
  };
  walk('')
    .then(() => pack.finalize())
    .catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}
