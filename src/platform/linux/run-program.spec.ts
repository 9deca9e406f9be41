import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProgram } from './run-program';

describe('runProgram (posix_spawn, reaped through a pidfd)', () => {
  it('resolves once the tool has run to its end', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-run-program-'));
    try {
      await runProgram('sh', ['-c', `sleep 0.05; echo done > ${dir}/out`]);
      expect(fs.readFileSync(path.join(dir, 'out'), 'utf8')).toBe('done\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects with its exit code and its stderr', async () => {
    await expect(runProgram('sh', ['-c', 'echo "no space left" >&2; exit 3'])).rejects.toThrow(
      /^sh -c .* exited 3: no space left$/,
    );
  });

  it('names a tool killed by a signal, and one that is not installed', async () => {
    await expect(runProgram('sh', ['-c', 'kill -9 $$'])).rejects.toThrow(/was killed by signal 9/);
    await expect(runProgram('warden-no-such-tool', [])).rejects.toThrow(/warden-no-such-tool not found in/);
  });

  it('leaves no child behind and no descriptor open', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 20; i++) await runProgram('true', []);
    expect(fds()).toBe(before);
    const zombies = fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map((e) => {
        try {
          return fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        } catch {
          return '';
        }
      })
      .map((st) => st.slice(st.lastIndexOf(')') + 2).split(' '))
      .filter((f) => f[0] === 'Z' && Number(f[1]) === process.pid);
    expect(zombies).toEqual([]);
  });
});
