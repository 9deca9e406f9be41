import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RootfsViewOptions {
  /** Unpacked layers, top first (overlay order). */
  lowerdirs: readonly string[];
  /** A container's writable layer: the view then shows (and takes) its changes. */
  upper?: { upperdir: string; workdir: string };
  /** An existing empty directory to mount on. */
  mountpoint: string;
}

/**
 * A container's or an image's merged root filesystem, seen from the service without mounting
 * anything in the host's mount namespace. A helper (`unshare -m`, private propagation) mounts
 * the overlay in a namespace of its own and waits on its stdin; the service reaches the mount
 * through `/proc/<helper>/root`. Closing stdin — `close()`, or the service dying — ends the
 * helper, its namespace and the mount with it: nothing to clean up after a crash.
 *
 * Used where no container process holds the root: an image's directory copied into a new
 * volume, and the archive API on a stopped container.
 */
export class RootfsView {
  private constructor(
    private readonly child: ChildProcess,
    private readonly mountpoint: string,
    private readonly emptyLower?: string,
  ) {}

  /** The merged root as a host path (valid until close). */
  get root(): string {
    return `/proc/${this.child.pid}/root${this.mountpoint}`;
  }

  static async open(opts: RootfsViewOptions): Promise<RootfsView> {
    // Without an upper dir overlayfs wants two lower layers at least: an empty one serves.
    const emptyLower = opts.upper ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'warden-lower-'));
    const lowers = [...opts.lowerdirs, ...(emptyLower ? [emptyLower] : [])];
    const options = opts.upper
      ? `lowerdir=${lowers.join(':')},upperdir=${opts.upper.upperdir},workdir=${opts.upper.workdir}`
      : `ro,lowerdir=${lowers.join(':')}`;
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        'mount -t overlay overlay -o "$1" "$2" || exit 1; echo ready; exec cat >/dev/null',
        'sh',
        options,
        opts.mountpoint,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const view = new RootfsView(child, opts.mountpoint, emptyLower);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) =>
        reject(new Error(`mounting the root filesystem failed (${code}): ${err.trim()}`)),
      );
    }).catch(async (e: unknown) => {
      await view.close();
      throw e;
    });
    return view;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.stdin!.end();
      await exited;
    }
    if (this.emptyLower) fs.rmSync(this.emptyLower, { recursive: true, force: true });
  }
}
