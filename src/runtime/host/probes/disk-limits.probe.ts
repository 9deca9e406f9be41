import { readFile } from 'node:fs/promises';
import type { DoctorItem, ProbeContext } from '../doctor-report';
import { lastLine, runCommand } from './run-command';
import { withScratchDir } from './scratch-dir';

// The mechanism Warden uses for `--storage-opt size=` and sized volumes, tried end to end in a
// private mount namespace: a 64 MiB ext4 in a sparse file, loop-mounted, written past its size.
// The write must fail with "No space left on device". Paths arrive as $1/$2.
const SCRIPT = [
  'set -e',
  'truncate -s 64M "$1"',
  'mkfs.ext4 -q -F -m 0 -J size=4 -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$1"',
  'mount -t ext4 -o loop,nosuid,nodev,noinit_itable "$1" "$2"',
  'if out=$(dd if=/dev/zero of="$2/fill" bs=1M count=80 2>&1); then echo wrote-past; fi',
  'case "$out" in *"No space left"*) echo enospc ;; esac',
  'umount "$2"',
].join('\n');

/** The mount options of the filesystem a path is on, from mountinfo (longest mount point wins). */
async function mountOf(dir: string): Promise<{ fstype: string; options: string[] } | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  let best: { point: string; fstype: string; options: string[] } | undefined;
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const f = left.split(' ');
    const point = f[4];
    const [fstype, , superOpts = ''] = right.split(' ');
    const under = point === '/' || dir === point || dir.startsWith(`${point}/`);
    if (under && (!best || point.length >= best.point.length))
      best = { point, fstype, options: [...f[5].split(','), ...superOpts.split(',')] };
  }
  return best;
}

export async function probeDiskLimits({ tmpDir, commandTimeoutMs }: ProbeContext): Promise<DoctorItem[]> {
  const backing = await mountOf(tmpDir);
  const quotas = !!backing?.options.some((o) => /^(prjquota|pquota|prjqnoenforce)$/.test(o));
  return withScratchDir(tmpDir, 'disk', async (dir) => {
    const r = await runCommand(
      ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh', `${dir}/fs.ext4`, dir],
      commandTimeoutMs,
    );
    const enospc = r.code === 0 && r.stdout.includes('enospc') && !r.stdout.includes('wrote-past');
    return [
      {
        id: 'disk.limits',
        label: 'disk limits',
        status: enospc ? 'ok' : 'warn',
        value: enospc
          ? `loop-mounted ext4 (host ${backing?.fstype ?? '?'}, ${quotas ? 'quotas' : 'no quotas'})`
          : lastLine(r.stderr) || `loop mount test exit ${r.code}`,
        meaning: enospc
          ? '--storage-opt size= and sized volumes are filesystems of their own: a write past the size gets ENOSPC'
          : 'a writable layer or volume with a size cannot be made here; containers and volumes without one still run',
        required: false,
        detail: {
          backingFilesystem: backing?.fstype ?? null,
          projectQuotasMounted: quotas,
          loopExt4Enospc: enospc,
          scratchBase: tmpDir,
        },
      },
    ];
  });
}
