/**
 * The comparison anchors of bench/launch: runc, crun and podman running /bin/true from the
 * same busybox layer Warden runs. Each is timed the same way, by a bash process that execs
 * the command and reads $EPOCHREALTIME around it (no extra fork for the clock), so the
 * anchors pay one fork+exec+wait like any shell user, and not Node's spawn machinery.
 *
 * Setup as DESIGN.md measured it on this host: crun refuses the hybrid cgroup layout unless
 * /sys/fs/cgroup/unified is unmounted, so its driver runs in a private mount namespace;
 * podman gets a private containers.conf (cgroupfs, runc, no network, rlimits this host
 * grants) and a private storage.conf, both under the bench's temp dir.
 */
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

const DRIVER = `
[ -n "\${BENCH_UMOUNT:-}" ] && { umount "$BENCH_UMOUNT" || exit 3; }
echo ready
while IFS= read -r line; do
  s=$EPOCHREALTIME
  eval "$line" </dev/null >/dev/null 2>>"$BENCH_ERRLOG"
  rc=$?
  e=$EPOCHREALTIME
  echo "$rc $s $e"
done`;

/** A long-lived bash that runs one command per line and reports its exit code and wall time. */
export class ShellDriver {
  private readonly pending: Array<(line: string) => void> = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly errLog: string,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.(line));
  }

  static async start(prefix: string[], env: Record<string, string>, errLog: string): Promise<ShellDriver> {
    const argv = [...prefix, 'bash', '-c', DRIVER];
    const child = spawn(argv[0], argv.slice(1), {
      // LC_ALL=C: $EPOCHREALTIME uses the locale's decimal separator.
      env: { ...process.env, ...env, LC_ALL: 'C', BENCH_ERRLOG: errLog },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const d = new ShellDriver(child, errLog);
    const ready = await new Promise<string>((resolve) => {
      d.pending.push(resolve);
      child.once('exit', (code) => resolve(`exit ${code}`));
    });
    if (ready !== 'ready') throw new Error(`${argv.slice(0, -2).join(' ')}: driver did not start (${ready})`);
    return d;
  }

  time(command: string): Promise<{ rc: number; ms: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${command}`)), 30_000);
      this.pending.push((line) => {
        clearTimeout(timer);
        const [rc, s, e] = line.split(' ');
        resolve({ rc: Number(rc), ms: (Number(e) - Number(s)) * 1000 });
      });
      this.child.stdin.write(`${command}\n`);
    });
  }

  lastErrors(): string {
    try {
      return fs.readFileSync(this.errLog, 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      return '';
    }
  }

  /** End of input ends the loop; a driver that does not leave is killed by its pid. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.pid && process.kill(this.child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export const installed = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/**
 * crun as the benches run it: from a shell driver in a private mount namespace that unmounted
 * /sys/fs/cgroup/unified once (crun refuses this hybrid layout otherwise), one `crun run` of
 * the bundle per line, its state under `stateDir`.
 */
export const CRUN = {
  prefix: ['unshare', '-m', '--propagation', 'private'],
  env: { BENCH_UMOUNT: '/sys/fs/cgroup/unified' },
  run: (stateDir: string, bundle: string, name: string) =>
    `crun --root ${stateDir} run --bundle ${bundle} ${name}`,
};

/** The busybox layer unpacked as an OCI bundle running /bin/true, cgroups under one private parent. */
export function writeBundle(dir: string, layerTar: Buffer, cgroupParent: string): string {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'layer.tar'), layerTar);
  execFileSync('tar', ['-xf', path.join(dir, 'layer.tar'), '-C', path.join(bundle, 'rootfs')]);
  // Whichever of the two is here writes the default spec (both write the same shape).
  execFileSync(installed('runc') ? 'runc' : 'crun', ['spec'], { cwd: bundle });
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['/bin/true'];
  config.linux.cgroupsPath = `/${cgroupParent}/run`;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config, null, 1));
  return bundle;
}

/** Removes a cgroup directory tree in every v1 hierarchy (children first); empty ones only. */
export function removeCgroupTree(name: string): void {
  const root = '/sys/fs/cgroup';
  for (const h of fs.readdirSync(root)) {
    const top = path.join(root, h, name);
    if (!fs.existsSync(top)) continue;
    const rm = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) rm(path.join(d, e.name));
      // A process that just exited (podman's conmon, say) keeps its cgroup busy for a moment.
      for (const deadline = Date.now() + 3000; ;) {
        try {
          return fs.rmdirSync(d);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) {
            return console.error(`cgroup ${d} left behind: ${(err as Error).message}`);
          }
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    };
    rm(top);
  }
}

/** Podman's private configuration under `dir`; the returned env points podman at it. */
export function podmanEnv(dir: string): Record<string, string> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    [
      '[containers]',
      'netns = "none"',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'log_driver = "k8s-file"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'runtime = "runc"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'storage.conf'),
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`,
  );
  return {
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
  };
}

/** Loads an oci-archive into podman's private storage; returns the image id. */
export function podmanLoad(env: Record<string, string>, archive: string): string {
  const run = (args: string[]) =>
    execFileSync('podman', args, { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
  run(['load', '-q', '-i', archive]);
  return run(['images', '-q', '--no-trunc']).split('\n')[0];
}

/** Podman's storage goes (containers, layers, mounts), then its cgroup parent if the bench made it. */
export function podmanReset(env: Record<string, string>, hadCgroupParent: boolean): void {
  spawnSync('podman', ['system', 'reset', '--force'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  if (!hadCgroupParent) removeCgroupTree('libpod_parent');
}

export const podmanCgroupParentExists = () => fs.existsSync('/sys/fs/cgroup/memory/libpod_parent');
