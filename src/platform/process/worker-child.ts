import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { childEnvironment, type WardenConfig } from '../config';
import { spawnSupervised, type Logger } from './child-process';
import { findPackageFile } from './package-file';

/** CPU priority of `warden up`'s worker process: launches and requests first, commits in between. */
export const WORKER_NICENESS = 10;
const STOP_GRACE_MS = 15_000;

export interface WorkerChild {
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. No restart after. */
  stop(): Promise<void>;
}

/** bin/warden.js of this package, found from src/ and dist/ alike (and from a bench's build, via its symlink). */
export function resolveWardenBin(): string {
  const bin = findPackageFile(join('bin', 'warden.js'));
  if (!bin) throw new Error('bin/warden.js not found above ' + __dirname);
  return bin;
}

/**
 * `warden up`'s queue workers, as a supervised child `warden worker` process. Measured on two
 * cores (bench/launch-cpu): the ~7 events of a launch cost the host about as much CPU to
 * commit as the launch path itself, and on the API's event loop they delay requests; in a
 * process of their own at nice 10 they run between launches. Whether that is faster depends
 * on the host (bench/README.md, third and fourth rounds: ~1 ms faster on one, ~2 ms slower
 * on another); it keeps report renders and worker crashes off the API's process. The child
 * joins this process's PostgreSQL and Redis (the URLs, or the embedded servers' record), dies
 * with it (SIGKILL as parent-death signal: a killed worker loses nothing, its jobs run again),
 * and is restarted if it exits on its own.
 */
export function startWorkerChild(config: WardenConfig, logger: Logger): WorkerChild {
  const bin = resolveWardenBin();
  const env = childEnvironment(config);
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartDelay = 1000;
  let restartTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = () => {
    const startedAt = Date.now();
    const c = spawnSupervised('nice', ['-n', String(WORKER_NICENESS), process.execPath, bin, 'worker'], {
      deathSignal: 'SIGKILL',
      env,
    });
    child = c;
    c.stdout?.pipe(process.stdout, { end: false });
    c.stderr?.pipe(process.stderr, { end: false });
    exited = new Promise<void>((resolve) => {
      c.once('error', (err) => logger.error(`worker process: ${err.message}`));
      c.once('close', (code, signal) => {
        resolve();
        if (stopping) return;
        // A worker that ran a while starts again at once; one that keeps dying backs off.
        restartDelay = Date.now() - startedAt > 60_000 ? 1000 : Math.min(restartDelay * 2, 30_000);
        logger.error(
          `worker process exited (${signal ?? `code ${code}`}); starting it again in ${restartDelay / 1000} s`,
        );
        restartTimer = setTimeout(start, restartDelay);
      });
    });
  };
  start();

  return {
    get pid() {
      return child?.pid;
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
