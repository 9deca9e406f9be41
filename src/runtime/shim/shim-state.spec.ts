import { readFileSync } from 'node:fs';
import { createLibcSyscalls } from '../../platform/ffi';
import { procStartTime } from './shim-state';

const sys = createLibcSyscalls();

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

describe('procStartTime', () => {
  it('reads a running process start time, and nothing for one that is gone', () => {
    expect(procStartTime(process.pid)).toBeGreaterThan(0);
    expect(procStartTime(2 ** 22 + 1)).toBeUndefined(); // above pid_max's ceiling
  });

  it('treats a zombie as gone: a killed shim its reaper has not reaped yet is not running', async () => {
    // Spawned outside libuv (posix_spawn), so nobody reaps it until waitpid below.
    const pid = sys.spawn('/bin/true', ['true'], [], [0, 1, 2]);
    const deadline = Date.now() + 5000;
    while (stateOf(pid) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    try {
      expect(stateOf(pid)).toBe('Z');
      expect(procStartTime(pid)).toBeUndefined();
    } finally {
      sys.waitpid(pid);
    }
  });
});
