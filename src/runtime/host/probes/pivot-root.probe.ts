import type { DoctorItem, ProbeContext } from '../doctor-report';
import { lastLine, runCommand } from './run-command';
import { withScratchDir } from './scratch-dir';

// What the shim does, in miniature: a tmpfs new root, pivot_root into it with the old root
// under /old, then check from inside with shell builtins only (no binary of the new root is
// needed, so the tiny root holds just a marker file). The private mount namespace, and with
// it every mount here, disappears when sh exits.
const SCRIPT = [
  'set -e',
  'mount -t tmpfs -o size=64k warden-doctor "$1"',
  'mkdir "$1/old"',
  'echo newroot > "$1/marker"',
  'cd "$1"',
  'pivot_root . old',
  'cd /',
  'test -f /marker',
  'test -d /old/proc',
  'echo pivoted',
].join('\n');

export async function probePivotRoot({ tmpDir, commandTimeoutMs }: ProbeContext): Promise<DoctorItem[]> {
  return withScratchDir(tmpDir, 'pivot', async (dir) => {
    const r = await runCommand(
      ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh', dir],
      commandTimeoutMs,
    );
    const ok = r.code === 0 && r.stdout.trim() === 'pivoted';
    return [
      {
        id: 'pivot_root',
        label: 'pivot_root',
        status: ok ? 'ok' : 'missing',
        value: ok ? 'pivoted into a tmpfs root' : lastLine(r.stderr) || `exit ${r.code}`,
        meaning: ok
          ? 'containers get a real root switch (not chroot): the host root is unmounted from their view'
          : 'pivot_root failed (e.g. host root on initramfs): containers cannot be given their own root',
        required: true,
        detail: { exitCode: r.code },
      },
    ];
  });
}
