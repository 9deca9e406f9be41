// These call the real syscalls on this process: the point of libc.ts is the ABI (struct
// offsets, errno, bigints), and only the kernel can say whether we got it right.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, createConnection, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLibcSyscalls } from './libc';
import { CGROUP2_SUPER_MAGIC, SyscallError } from './syscalls';

const sys = createLibcSyscalls();

/** Blocks this thread, so libuv cannot reap the child before our own waitid does. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitExit(pidfd: number) {
  for (let i = 0; i < 500; i++) {
    const r = sys.waitPidfd(pidfd);
    if (r) return r;
    sleepSync(5);
  }
  throw new Error('child did not exit within 2.5 s');
}

function statusHex(field: string): bigint {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return BigInt(`0x${line!.split(/\s+/)[1]}`);
}

describe('libc syscalls (real, on this process)', () => {
  it('opens a pidfd on itself and signals it with signal 0', () => {
    const fd = sys.pidfdOpen(process.pid);
    expect(fd).toBeGreaterThan(2);
    expect(() => sys.pidfdSendSignal(fd, 0)).not.toThrow();
    sys.close(fd);
  });

  it('reports errno by name: pidfd_open on a pid that cannot exist is ESRCH', () => {
    // pid_max is at most 2^22, so this pid is never allocated.
    const err = (() => {
      try {
        sys.pidfdOpen(2 ** 22 + 7);
      } catch (e) {
        return e as SyscallError;
      }
      throw new Error('pidfd_open succeeded');
    })();
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.code).toBe('ESRCH');
    expect(err.message).toMatch(/^pidfd_open: ESRCH \(3\)/);
  });

  it('waitid on a pidfd: null while running, CLD_KILLED 9 after SIGKILL via the pidfd', () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    child.unref(); // our waitid reaps it, so child_process never sees the exit
    const fd = sys.pidfdOpen(child.pid!);
    try {
      expect(sys.waitPidfd(fd)).toBeNull();
      sys.pidfdSendSignal(fd, 'SIGKILL');
      expect(waitExit(fd)).toEqual({ pid: child.pid, code: 'CLD_KILLED', status: 9 });
    } finally {
      sys.close(fd);
    }
  });

  it('waitid on a pidfd: CLD_EXITED with the exit status', () => {
    const child = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
    child.unref();
    const fd = sys.pidfdOpen(child.pid!);
    try {
      expect(waitExit(fd)).toEqual({ pid: child.pid, code: 'CLD_EXITED', status: 3 });
    } finally {
      sys.close(fd);
    }
  });

  it('as child subreaper, adopts an orphaned grandchild and reaps it through a pidfd', () => {
    // Turned off again afterwards: the whole suite may share this process (--runInBand), and
    // other tests' daemons (postgres, redis) must not become our unreaped zombies.
    sys.setChildSubreaper(true);
    try {
      const out = execFileSync('sh', ['-c', 'sleep 30 </dev/null >/dev/null 2>&1 & echo $!'], {
        encoding: 'utf8',
      });
      const orphan = Number(out.trim());
      const ppid = /^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${orphan}/status`, 'utf8'))?.[1];
      expect(Number(ppid)).toBe(process.pid);
      const fd = sys.pidfdOpen(orphan);
      try {
        sys.pidfdSendSignal(fd, 'SIGKILL');
        expect(waitExit(fd)).toEqual({ pid: orphan, code: 'CLD_KILLED', status: 9 });
      } finally {
        sys.close(fd);
      }
    } finally {
      sys.setChildSubreaper(false);
    }
  });

  it('reads SO_PEERCRED from a real unix socket connection: the peer is this process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-peercred-'));
    const path = join(dir, 's.sock');
    let server: Server | undefined;
    let client: Socket | undefined;
    try {
      const accepted = new Promise<Socket>((resolve) => {
        server = createServer(resolve);
        server.listen(path);
      });
      await new Promise((r) => server!.once('listening', r));
      client = createConnection(path);
      const conn = await accepted;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- libuv's fd is not public API
      const fd = (conn as any)._handle.fd as number;
      expect(sys.peerCredentials(fd)).toEqual({
        pid: process.pid,
        uid: process.getuid!(),
        gid: process.getgid!(),
      });
      conn.destroy();
    } finally {
      client?.destroy();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports getsockopt errors on a non-socket fd as ENOTSOCK', () => {
    const fd = sys.pidfdOpen(process.pid);
    try {
      expect(() => sys.peerCredentials(fd)).toThrow(/^getsockopt\(SO_PEERCRED\): ENOTSOCK/);
    } finally {
      closeSync(fd);
    }
  });

  it('statfs returns f_type: / is not cgroup2, and a cgroup2 mount (if any) has the magic', () => {
    expect(sys.statfsType('/')).not.toBe(CGROUP2_SUPER_MAGIC);
    const cgroup2 = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' - '))
      .find(([, right]) => right?.startsWith('cgroup2 '));
    if (cgroup2) expect(sys.statfsType(cgroup2[0].split(' ')[4])).toBe(CGROUP2_SUPER_MAGIC);
    expect(() => sys.statfsType('/nonexistent/warden')).toThrow(/^statfs: ENOENT/);
  });

  it('capget and PR_CAPBSET_READ agree with /proc/self/status', () => {
    const caps = sys.capabilities();
    expect(caps.effective).toBe(statusHex('CapEff'));
    expect(caps.permitted).toBe(statusHex('CapPrm'));
    expect(caps.inheritable).toBe(statusHex('CapInh'));
    expect(caps.bounding).toBe(statusHex('CapBnd'));
  });

  it('getrlimit NOFILE matches /proc/self/limits', () => {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))!;
    const [soft, hard] = line
      .slice('Max open files'.length)
      .trim()
      .split(/\s+/)
      .slice(0, 2) // soft, hard, then the unit
      .map((v) => (v === 'unlimited' ? v : BigInt(v)));
    expect(sys.getrlimit('NOFILE')).toEqual({ soft, hard });
  });

  it('uname matches /proc/sys/kernel', () => {
    const u = sys.uname();
    expect(u.sysname).toBe('Linux');
    expect(u.release).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(u.version).toBe(readFileSync('/proc/sys/kernel/version', 'utf8').trim());
    expect(u.machine).toBe(process.arch === 'x64' ? 'x86_64' : u.machine);
  });
});
