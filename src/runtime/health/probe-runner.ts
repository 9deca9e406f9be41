import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { Syscalls } from '../../platform/ffi';
import { ImageProvider } from '../../images';
import type { ContainerRecord, HealthResult } from '../container/container';
import { resolveExecProcess, spawnExec } from '../exec/exec-process';
import type { LiveContainer } from '../container/live-containers';
import { SHIM_RUNNER, SYSCALLS } from '../container/runtime.tokens';
import type { ShimRunner } from '../shim/shim-runner';
import { goDuration, MAX_OUTPUT_BYTES } from './healthcheck';

/**
 * One probe: the health check's command as a process in the container, the way an exec runs
 * (the shim joins its namespaces and cgroup, with PID 1's credentials and filters). It is
 * Warden's own, not a client's: no policy decision and no audit event per probe. Output
 * (stdout and stderr together) is kept up to 4 KiB; past the timeout the process is killed
 * and the result is -1, as Docker's.
 */
@Injectable()
export class ProbeRunner {
  constructor(
    private readonly images: ImageProvider,
    @Inject(SHIM_RUNNER) private readonly shim: ShimRunner,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
  ) {}

  async run(
    c: ContainerRecord,
    live: LiveContainer,
    argv: string[],
    timeoutMs: number,
    /** Called with a way to end the probe early (the container stops meanwhile). */
    onStarted: (kill: () => void) => void = () => undefined,
  ): Promise<HealthResult> {
    const start = new Date().toISOString();
    const result = (ExitCode: number, Output: string): HealthResult => ({
      Start: start,
      End: new Date().toISOString(),
      ExitCode,
      Output,
    });
    let process;
    try {
      const req = { cmd: argv };
      const proc = await resolveExecProcess(this.images, c, req);
      process = await spawnExec({ shim: this.shim, sys: this.sys }, c, live, req, proc, [
        'ignore',
        'pipe',
        'pipe',
      ]);
    } catch (err) {
      return result(-1, `exec failed: ${(err as Error).message}`);
    }
    const out = new LimitedOutput();
    out.read(process.stdout);
    out.read(process.stderr);
    const kill = () => {
      try {
        globalThis.process.kill(process.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    onStarted(kill);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const status = await process.exited.catch(() => ({ exitCode: -1, signal: null }));
    clearTimeout(timer);
    await out.done();
    if (timedOut) {
      const text = out.text();
      const msg = `Health check exceeded timeout (${goDuration(timeoutMs)})`;
      return result(-1, text ? `${msg}: ${text}` : msg);
    }
    return result(status.exitCode, out.text());
  }
}

/** Up to MAX_OUTPUT_BYTES of both streams, "..." when more came (moby's limitedBuffer). */
class LimitedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;
  private readonly ends: Array<Promise<void>> = [];

  read(s: Readable | null): void {
    if (!s) return;
    this.ends.push(
      new Promise((resolve) => {
        s.on('data', (d: Buffer) => {
          const keep = Math.min(MAX_OUTPUT_BYTES - this.size, d.length);
          if (keep > 0) this.chunks.push(d.subarray(0, keep));
          this.size += Math.max(keep, 0);
          if (keep < d.length) this.truncated = true;
        });
        s.on('end', resolve);
        s.on('close', resolve);
        s.on('error', () => resolve());
      }),
    );
  }

  /** Streams end with the process; a grandchild that keeps them open is not waited for long. */
  done(): Promise<unknown> {
    return Promise.race([Promise.all(this.ends), new Promise((r) => setTimeout(r, 1000))]);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? '...' : '');
  }
}
