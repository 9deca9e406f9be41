import { constants as osConstants } from 'node:os';
import { createLibcSyscalls, type Syscalls } from '../../../src/platform/ffi';
import { SyscallError } from '../../../src/platform/ffi/syscalls';
import type { FakeShim } from './fake-shim';

const FIRST_FAKE_FD = 1_000_000;

/**
 * The SYSCALLS seam with the process calls recorded and answered for the fake shim's
 * processes: pidfd_open, pidfd_send_signal and close on their fake pidfds. Everything else
 * (the Docker socket's SO_PEERCRED, statfs, …) is the real libc's: none of it needs root.
 */
export class RecordingSyscalls {
  readonly calls: Array<{ call: string; args: unknown[] }> = [];
  readonly syscalls: Syscalls;
  private readonly pidfds = new Map<number, number>();
  private nextFd = FIRST_FAKE_FD;

  constructor(shim: FakeShim, real: Syscalls = createLibcSyscalls()) {
    const record = (call: string, ...args: unknown[]) => this.calls.push({ call, args });
    this.syscalls = {
      ...bindAll(real),
      pidfdOpen: (pid) => {
        record('pidfdOpen', pid);
        if (!shim.isAlive(pid)) throw new SyscallError('pidfd_open', osConstants.errno.ESRCH);
        const fd = this.nextFd++;
        this.pidfds.set(fd, pid);
        return fd;
      },
      pidfdSendSignal: (fd, signal) => {
        record('pidfdSendSignal', this.pidfds.get(fd), signal);
        const pid = this.pidfds.get(fd);
        if (pid === undefined) throw new SyscallError('pidfd_send_signal', osConstants.errno.EBADF);
        const name = typeof signal === 'number' ? signalName(signal) : signal;
        if (!shim.signal(pid, name)) throw new SyscallError('pidfd_send_signal', osConstants.errno.ESRCH);
      },
      close: (fd) => {
        if (fd < FIRST_FAKE_FD) return real.close(fd);
        record('close', fd);
        if (!this.pidfds.delete(fd)) throw new SyscallError('close', osConstants.errno.EBADF);
      },
    };
  }

  /** The signals sent through pidfds, as [pid, signal]. */
  signals(): Array<[number, string]> {
    return this.calls.filter((c) => c.call === 'pidfdSendSignal').map((c) => c.args as [number, string]);
  }

  openPidfds(): number {
    return this.pidfds.size;
  }
}

function bindAll(real: Syscalls): Syscalls {
  const out = {} as Record<string, unknown>;
  for (const key of Object.keys(real) as Array<keyof Syscalls>) {
    const v = real[key];
    out[key] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
  }
  return out as unknown as Syscalls;
}

function signalName(n: number): NodeJS.Signals {
  const found = Object.entries(osConstants.signals).find(([, v]) => v === n);
  if (!found) throw new SyscallError('pidfd_send_signal', osConstants.errno.EINVAL);
  return found[0] as NodeJS.Signals;
}
