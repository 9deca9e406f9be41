import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { DoctorItem, ProbeContext } from '../doctor-report';
import { lastLine, runCommand } from './run-command';
import { withScratchDir } from './scratch-dir';

// Mounts the overlay, reads a lower file through it and writes a new one, all inside a
// throwaway private mount namespace so nothing leaks to the host even if we are killed.
// Paths arrive as $1..$4 so no path is ever interpolated into the script.
const SCRIPT = [
  'set -e',
  'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"',
  'test "$(cat "$4/probe")" = lower',
  'echo upper > "$4/written"',
  'umount "$4"',
].join('\n');

export async function probeOverlay({ tmpDir, commandTimeoutMs }: ProbeContext): Promise<DoctorItem[]> {
  const known = (await readFile('/proc/filesystems', 'utf8')).split('\n').some((l) => /\toverlay$/.test(l));
  return withScratchDir(tmpDir, 'overlay', async (dir) => {
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => `${dir}/${d}`);
    await Promise.all([lower, upper, work, merged].map((d) => mkdir(d)));
    await writeFile(`${lower}/probe`, 'lower\n');
    const r = await runCommand(
      [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        SCRIPT,
        'sh',
        lower,
        upper,
        work,
        merged,
      ],
      commandTimeoutMs,
    );
    // The write must have landed in upperdir: proof the overlay really stacked the layers.
    const wrote = (await readFile(`${upper}/written`, 'utf8').catch(() => '')).trim() === 'upper';
    const ok = known && r.code === 0 && wrote;
    return [
      {
        id: 'overlay',
        label: 'overlayfs',
        status: ok ? 'ok' : 'missing',
        value: ok
          ? `mounted on ${tmpDir}`
          : !known
            ? 'not in /proc/filesystems'
            : lastLine(r.stderr) || `mount test exit ${r.code}`,
        meaning: ok
          ? 'image layers stack as overlay lowerdirs; each container gets its own upper dir'
          : `overlay mount failed on ${tmpDir}: containers cannot get a rootfs (is it itself on overlay?)`,
        required: true,
        detail: { inProcFilesystems: known, mountExit: r.code, upperWritten: wrote, scratchBase: tmpDir },
      },
    ];
  });
}
