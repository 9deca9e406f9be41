import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Helper servers (PostgreSQL, redis-server) are started through util-linux `setpriv`
 * with a parent-death signal: if Warden is killed with SIGKILL, the kernel signals them
 * and they shut down cleanly instead of living on as orphans holding the data dir.
 * `--pdeathsig` is re-applied by setpriv after it changes credentials (the kernel clears
 * it on a uid change). The signal is tied to the thread that forked: libuv spawns from
 * the main loop thread, which lives as long as the process.
 *
 * They run in their own session (detached), so a Ctrl-C in Warden's terminal reaches only
 * Warden, which then stops them in order: API and workers first, their servers last.
 */
export function spawnSupervised(
  command: string,
  args: string[],
  opts: {
    deathSignal: NodeJS.Signals;
    user?: { uid: number; gid: number };
    env?: NodeJS.ProcessEnv;
    cwd?: string;
  },
): ChildProcess {
  const setprivArgs = [`--pdeathsig=${opts.deathSignal}`];
  if (opts.user) setprivArgs.push(`--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, '--clear-groups');
  const spawnOpts: SpawnOptions = {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env,
    cwd: opts.cwd,
    detached: true,
  };
  return spawn('setpriv', [...setprivArgs, '--', command, ...args], spawnOpts);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves with the exit code (or signal name) once the child has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/** Sends `signal`, then SIGKILL if the child is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Waits for a pid left by an earlier run (killed Warden) to go; its death signal is on its way. */
export async function waitForStalePid(
  pid: number,
  name: string,
  signal: NodeJS.Signals,
  log: Logger,
): Promise<void> {
  if (!isAlive(pid)) return;
  log.warn(`${name} from an earlier run (pid ${pid}) is still running; waiting for it to stop`);
  try {
    await waitFor(`${name} pid ${pid} to exit`, () => !isAlive(pid), 5000);
  } catch {
    process.kill(pid, signal);
    await waitFor(`${name} pid ${pid} to exit after ${signal}`, () => !isAlive(pid), 30000);
  }
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Collects the last lines a child wrote, so a failed start can say why. */
export function tailOutput(child: ChildProcess, log: Logger, prefix: string, keep = 30): () => string {
  const lines: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > keep) lines.shift();
      log.debug(`${prefix}: ${line}`);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => lines.join('\n');
}

export function which(cmd: string): string | undefined {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = `${dir}/${cmd}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}
