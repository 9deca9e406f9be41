import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostsFile } from '../../network';

/**
 * A container's files on the host, all under `$WARDEN_DATA_DIR/containers/<id>`: the overlay's
 * upper and work dirs and its mount point, the /etc files bind-mounted into it (as Docker
 * does), its log and its shim's state. Removing the container removes the directory; nothing else on the
 * host belongs to it (its mounts live in its own mount namespace and die with it).
 */
export class ContainerFiles {
  readonly dir: string;

  constructor(
    dataDir: string,
    readonly id: string,
  ) {
    this.dir = path.join(dataDir, 'containers', id);
  }

  get rootfs() {
    return path.join(this.dir, 'rootfs');
  }
  get upper() {
    return path.join(this.dir, 'upper');
  }
  get work() {
    return path.join(this.dir, 'work');
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

  /** Lays out the directory; `hostResolvConf` is copied for containers on the host network. */
  create(hostname: string, network: 'none' | 'host'): void {
    fs.mkdirSync(path.dirname(this.dir), { recursive: true, mode: 0o711 });
    fs.mkdirSync(this.dir, { mode: 0o710 });
    for (const d of [this.rootfs, this.upper, this.work]) fs.mkdirSync(d, { mode: 0o755 });
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

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }
}
