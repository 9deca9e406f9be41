// These call the real syscalls on this process: the point of libc.ts is the ABI (struct
// offsets, errno, bigints), and only the kernel can say whether we got it right.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
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

  describe('spawn (posix_spawn), socketpair and waitpid', () => {
    /** Reads a socket to its end. */
    const drain = (fd: number) =>
      new Promise<string>((resolve) => {
        let out = '';
        const sock = new Socket({ fd, readable: true, writable: false });
        sock.on('data', (c: Buffer) => (out += c.toString()));
        sock.on('close', () => resolve(out));
      });

    function waitPid(pid: number) {
      for (let i = 0; i < 500; i++) {
        const r = sys.waitpid(pid);
        if (r) return r;
        sleepSync(5);
      }
      throw new Error('child did not exit within 2.5 s');
    }

    it('maps fds, gives the child a clean signal state and a new session, and reaps it', async () => {
      const [ours, theirs] = sys.socketpair();
      // fd 1 of the child = our pair; SigIgn/SigBlk must be empty though Node ignores SIGPIPE.
      const script = 'grep -E "^(SigIgn|SigBlk)" /proc/self/status; ps -o sid= -p $$; echo pid=$$; exit 7';
      const pid = sys.spawn('/bin/sh', ['sh', '-c', script], ['PATH=/usr/bin:/bin'], [0, theirs, 2], {
        setsid: true,
      });
      sys.close(theirs);
      const out = await drain(ours);
      expect(out).toMatch(/^SigIgn:\s+0+$/m);
      expect(out).toMatch(/^SigBlk:\s+0+$/m);
      expect(out).toContain(`pid=${pid}`);
      expect(out.split('\n')[2].trim()).toBe(String(pid)); // session leader: sid = its pid
      expect(waitPid(pid)).toEqual({ pid, code: 'CLD_EXITED', status: 7 });
    });

    it('passes no environment but the one given', async () => {
      const [ours, theirs] = sys.socketpair();
      const pid = sys.spawn('/usr/bin/env', ['env'], ['ONLY=this'], [0, theirs, 2]);
      sys.close(theirs);
      expect(await drain(ours)).toBe('ONLY=this\n');
      expect(waitPid(pid)?.status).toBe(0);
    });

    it('reports a signal death', () => {
      const pid = sys.spawn('/bin/sh', ['sh', '-c', 'kill -9 $$'], [], [0, 1, 2]);
      expect(waitPid(pid)).toEqual({ pid, code: 'CLD_KILLED', status: 9 });
    });

    it('moves a source fd that is also a lower target out of the way first', async () => {
      const [a, b] = sys.socketpair();
      const [c, d] = sys.socketpair();
      // Child fd 0 = d, then fd 2 = our fd 0: dup2 onto 0 comes first, so without the copy
      // made beforehand fd 2 would be the socket d rather than our stdin.
      const pid = sys.spawn('/bin/sh', ['sh', '-c', 'readlink /proc/self/fd/2 >&1'], [], [d, b, 0]);
      sys.close(b);
      sys.close(d);
      sys.close(c);
      const out = (await drain(a)).trim();
      expect(out).toBe(readlinkSync('/proc/self/fd/0'));
      expect(waitPid(pid)?.status).toBe(0);
    });

    it('throws the error posix_spawn returns, naming the path', () => {
      expect(() => sys.spawn('/nonexistent/warden-test', ['x'], [], [0, 1, 2])).toThrow(
        /posix_spawn: ENOENT \(2\): \/nonexistent\/warden-test/,
      );
    });
  });
});

describe('SyscallError', () => {
  it('names an errno by the name callers test for, not a later alias', () => {
    expect(new SyscallError('openat2', 11).code).toBe('EAGAIN'); // not EWOULDBLOCK
    expect(new SyscallError('x', 95).code).toBe('ENOTSUP'); // not EOPNOTSUPP
    expect(new SyscallError('x', 2).code).toBe('ENOENT');
  });
});
