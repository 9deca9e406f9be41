import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostsFile } from '../../network';

/**
 * A container's files on the host, all under `$WARDEN_DATA_DIR/containers/<id>`: the overlay's
 * writable layer (`layer/`: the overlay's upper and work dirs) and its mount point, the /etc
 * files bind-mounted into it (as Docker does), its log and its shim's state. Removing the
 * container removes the directory; nothing else on the host belongs to it (its mounts live in
 * its own mount namespace and die with it).
 *
 * A writable layer with a size (`--storage-opt size=`) is a filesystem of its own in
 * `layer.ext4`, loop-mounted on `layer/` (see WritableLayers): a write past the size fails with
 * ENOSPC inside the container. Containers created before `layer/` existed keep
 * their upper and work dirs at the top of their directory.
 */
export class ContainerFiles {
  readonly dir: string;
  private legacyLayout?: boolean;

  constructor(
    dataDir: string,
    readonly id: string,
  ) {
    this.dir = path.join(dataDir, 'containers', id);
  }

  get rootfs() {
    return path.join(this.dir, 'rootfs');
  }
  /** The writable layer: a plain directory, or a sized filesystem's mount point. */
  get layer() {
    return path.join(this.dir, 'layer');
  }
  /** A sized writable layer's filesystem image; absent without a size. */
  get layerImage() {
    return path.join(this.dir, 'layer.ext4');
  }
  private get layerRoot() {
    this.legacyLayout ??= fs.existsSync(path.join(this.dir, 'upper'));
    return this.legacyLayout ? this.dir : this.layer;
  }
  get upper() {
    return path.join(this.layerRoot, 'upper');
  }
  get work() {
    return path.join(this.layerRoot, 'work');
  }
  get log() {
    return path.join(this.dir, 'log.jsonl');
  }
  /** The shim's pid.json, exit.json and control socket (shim/shim-state.ts). */
  get state() {
    return path.join(this.dir, 'state');
  }
  get hostnameFile() {
    return path.join(this.dir, 'hostname');
  }
  get hostsFile() {
    return path.join(this.dir, 'hosts');
  }
  get resolvConfFile() {
    return path.join(this.dir, 'resolv.conf');
  }
  /** What networking writes and keeps here (src/network). */
  get network() {
    return { dir: this.dir, hosts: this.hostsFile, resolvConf: this.resolvConfFile };
  }

  /**
   * Lays out the directory; the host's resolv.conf is copied for containers on the host
   * network. A sized writable layer is made apart (`makeSizedLayer`): it takes a mkfs.
   */
  create(hostname: string, network: 'none' | 'host', sizedLayer = false): void {
    fs.mkdirSync(path.dirname(this.dir), { recursive: true, mode: 0o711 });
    fs.mkdirSync(this.dir, { mode: 0o710 });
    this.legacyLayout = false;
    for (const d of [this.rootfs, this.layer]) fs.mkdirSync(d, { mode: 0o755 });
    if (!sizedLayer) for (const d of [this.upper, this.work]) fs.mkdirSync(d, { mode: 0o755 });
    fs.writeFileSync(this.hostnameFile, `${hostname}\n`, { mode: 0o644 });
    fs.writeFileSync(this.hostsFile, hostsFile({ hostname, name: hostname }, []), { mode: 0o644 });
    let resolv = '';
    if (network === 'host') {
      try {
        resolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        resolv = '';
      }
    }
    fs.writeFileSync(this.resolvConfFile, resolv, { mode: 0o644 });
  }

  /** The work dir must be empty for each new overlay mount (a restart reuses upper, not work). */
  resetWork(): void {
    try {
      // A first start finds it as create() left it: one getdents instead of a tree walk.
      if (fs.readdirSync(this.work).length === 0) return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    fs.rmSync(this.work, { recursive: true, force: true });
    fs.mkdirSync(this.work, { mode: 0o755 });
  }

  /** Removes the directory; a sized layer must have been unmounted first (WritableLayers.remove). */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }
}
