import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLibcMounts, type Mounts } from '../ffi';
import { runProgram as run } from './run-program';

/**
 * A directory with a size: an ext4 filesystem in a sparse file, loop-mounted on it. This host's
 * kernel has no quota support at all (ext4 and xfs both refuse `prjquota` without
 * CONFIG_QUOTA / XFS quota, measured), so a filesystem of its own is what makes a write past
 * the size fail with ENOSPC while the host's free space moves by at most the size. Used by sized
 * volumes and by containers' writable layers (`--storage-opt size=`).
 *
 * The file is sparse and stays so: the journal is small and written lazily, and inode tables
 * are neither zeroed at mkfs nor by the kernel's background thread (`noinit_itable`), so a
 * fresh 10 GiB filesystem takes ~4 MiB of the host's disk instead of ~70 MiB. The mount lives
 * in the host's mount namespace (containers' private namespaces inherit it); it does not
 * survive a reboot, so users call `ensureMounted` before use.
 */

/** ext4's floor for a useful filesystem with a journal; below it mkfs makes no room for files. */
export const MIN_SIZED_FILESYSTEM_BYTES = 64 * 1024 ** 2;

const MOUNT_OPTIONS = 'loop,nosuid,nodev,noinit_itable';

export async function makeSizedFilesystem(image: string, bytes: number, mountPoint: string): Promise<void> {
  fs.writeFileSync(image, '', { mode: 0o600 });
  fs.truncateSync(image, bytes);
  // mkfs's own journal size up to 1 GiB (1-16 MiB); above, 16 MiB instead of its 64-256 MiB.
  const journal = bytes >= 1024 ** 3 ? ['-J', 'size=16'] : [];
  await run('mkfs.ext4', [
    '-q',
    '-F',
    '-m',
    '0', // no reserved blocks: the whole size is the user's
    ...journal,
    '-E',
    'root_owner=0:0,nodiscard,lazy_itable_init=1,lazy_journal_init=1',
    image,
  ]);
  fs.mkdirSync(mountPoint, { recursive: true, mode: 0o755 });
  await run('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, image, mountPoint]);
  // A fresh filesystem is empty, as the directory it stands for would be.
  fs.rmdirSync(path.join(mountPoint, 'lost+found'));
}

/** A directory is a mount point when it is on another device than its parent. */
export function isMountPoint(dir: string): boolean {
  try {
    return fs.statSync(dir).dev !== fs.statSync(path.dirname(dir)).dev;
  } catch {
    return false;
  }
}

/** Mounts the image on its directory again (after a reboot, or a crash that lost the mount). */
export async function ensureMounted(image: string, mountPoint: string): Promise<void> {
  if (isMountPoint(mountPoint)) return;
  await run('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, image, mountPoint]);
}

let mounts: Mounts | undefined;

/**
 * Moves a mounted filesystem to another directory with two syscalls and no process (`mount`
 * would be two processes): a bind mount at `to`, then the mount at `from` detached. A bind, not
 * MS_MOVE, because MS_MOVE refuses a mount under a shared parent (systemd hosts mount / shared).
 * The loop device stays attached while either mount holds the filesystem.
 */
export function moveMount(from: string, to: string): void {
  mounts ??= createLibcMounts();
  mounts.bind(from, to);
  try {
    mounts.detach(from);
  } catch (err) {
    mounts.detach(to);
    throw err;
  }
}

/**
 * Unmounts it if mounted. `lazy` is for a filesystem about to be deleted: a mount still held (a
 * container's namespace being torn down) is detached now and freed with its loop device when
 * the last user lets go, so removal never waits on it nor fails with EBUSY. Otherwise a busy
 * mount stays (EBUSY is thrown): detached but alive, a later mount of the same image would be
 * a second filesystem on one file.
 */
export async function unmountSized(mountPoint: string, opts: { lazy?: boolean } = {}): Promise<void> {
  if (isMountPoint(mountPoint)) await run('umount', opts.lazy ? ['-l', mountPoint] : [mountPoint]);
}

/** Bytes in use on a sized filesystem, as `df` counts them (its own metadata included). */
export function sizedFilesystemUsage(mountPoint: string): { usedBytes: number; sizeBytes: number } {
  const s = fs.statfsSync(mountPoint);
  return { usedBytes: (s.blocks - s.bfree) * s.bsize, sizeBytes: s.blocks * s.bsize };
}
