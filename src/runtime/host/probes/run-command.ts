import { spawn } from 'node:child_process';

export interface CommandResult {
  /** null when killed (timeout) or when it could not be started. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a helper (unshare, sh) to completion without throwing: a probe wants the outcome, and
 * "command not found" or a timeout is itself an answer. Helpers get an empty environment
 * apart from PATH so the probe does not depend on the caller's locale or shell setup.
 */
export function runCommand(argv: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: stderr || err.message }));
    child.on('close', (code, signal) =>
      resolve({ code, stdout, stderr: signal ? `${stderr}killed by ${signal}`.trim() : stderr }),
    );
  });
}

/** The last non-empty stderr line, which is where unshare/mount put the reason. */
export function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length ? lines[lines.length - 1].trim() : '';
}
