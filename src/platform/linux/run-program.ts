import * as fs from 'node:fs';
import { Socket } from 'node:net';
import * as path from 'node:path';
import { createLibcSyscalls, type Syscalls, type WaitResult } from '../ffi';

/** Where the host tools Warden runs live (posix_spawn takes a path, not a name to look up). */
const TOOL_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TOOL_ENV = [`PATH=${TOOL_DIRS.join(':')}`];

let libc: Syscalls | undefined;
const found = new Map<string, string>();

/**
 * Runs a host tool (mkfs.ext4, mount, umount) to its end; rejects with its stderr when it
 * exits non-zero. Through posix_spawn, as the shim is started (runtime/shim/spawn-shim.ts):
 * child_process forks this ~200 MB process, and a launch under a policy with a storage
 * default runs three tools (mkfs and mount at create, umount at remove), whose forks were
 * ~45% of the service's CPU in a launch cycle (bench/README.md, sixth round). The child gets
 * /dev/null for stdin and stdout and a socket for stderr, whose end says it has exited; it is
 * reaped through a pidfd, never by libuv.
 */
export async function runProgram(
  name: string,
  args: string[],
  sys: Syscalls = (libc ??= createLibcSyscalls()),
): Promise<void> {
  const file = locate(name);
  const [mine, theirs] = sys.socketpair();
  const devnull = fs.openSync('/dev/null', 'r+');
  let pid: number;
  let pidfd: number;
  try {
    pid = sys.spawn(file, [name, ...args], TOOL_ENV, [devnull, devnull, theirs]);
    pidfd = sys.pidfdOpen(pid);
  } catch (err) {
    sys.close(mine);
    throw err;
  } finally {
    sys.close(theirs);
    fs.closeSync(devnull);
  }
  const stderr: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const s = new Socket({ fd: mine, readable: true, writable: false });
    s.on('data', (b: Buffer) => stderr.push(b));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
  const status = await reap(sys, pidfd);
  if (status.code !== 'CLD_EXITED' || status.status !== 0) {
    const why = Buffer.concat(stderr).toString('utf8').trim();
    const how =
      status.code === 'CLD_EXITED' ? `exited ${status.status}` : `was killed by signal ${status.status}`;
    throw new Error(`${name} ${args.join(' ')} ${how}${why ? `: ${why}` : ''}`);
  }
}

/** Its status once it can be waited for: its stderr closes a moment before it is a zombie. */
async function reap(sys: Syscalls, pidfd: number): Promise<WaitResult> {
  try {
    for (let attempt = 0; ; attempt++) {
      const r = sys.waitPidfd(pidfd);
      if (r) return r;
      await new Promise((resolve) =>
        attempt < 3 ? setImmediate(resolve) : setTimeout(resolve, Math.min(2 ** (attempt - 3), 100)),
      );
    }
  } finally {
    sys.close(pidfd);
  }
}

function locate(name: string): string {
  let file = found.get(name);
  if (file) return file;
  file = TOOL_DIRS.map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`${name} not found in ${TOOL_DIRS.join(', ')}`);
  found.set(name, file);
  return file;
}
