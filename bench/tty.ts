/**
 * What the terminal's relay through the shim costs (issue 15, point 4). Claims, on a shared
 * 2-core host:
 *   - a keystroke sent into an attach session comes back as the terminal's echo within 10 ms
 *     (p95): the path client → ctl socket → shim → pty master → line discipline → master →
 *     the shim's ring → client;
 *   - 16 MiB written to the terminal reach an attached session at no less than half the rate
 *     the same output reaches the log alone (the anchor: the shim's log path without a
 *     session), so the ring and back-pressure do not become the bottleneck.
 *
 *   bash bench/run.sh tty          (root: the shim makes namespaces)
 *
 * TTY_BENCH_KEYS keystrokes (default 200), TTY_BENCH_MIB MiB (default 16), 3 rounds each way.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim } from '../src/runtime/shim/launch-shim';
import { attachShim } from '../src/runtime/shim/shim-attach';
import type { ShimRunConfig } from '../src/runtime/shim/shim-protocol';
import { buildBusyboxRootfs } from '../test/fixtures/rootfs/busybox-rootfs';
import { makeTmp, noCgroups, runConfig } from '../test/fixtures/rootfs/shim-harness';

const KEYS = Number(process.env.TTY_BENCH_KEYS ?? 200);
const MIB = Number(process.env.TTY_BENCH_MIB ?? 16);
const ROUNDS = 3;
const TARGET_ECHO_P95_MS = 10;
const TARGET_RATE_SHARE = 0.5;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};

function terminal(rootfs: string, dir: string, args: string[]): ShimRunConfig {
  mkdirSync(dir, { recursive: true });
  return runConfig(
    { rootfs },
    args,
    {
      monitor: {
        stateDir: join(dir, 'state'),
        logPath: join(dir, 'log.jsonl'),
        logMaxBytes: 64 << 20,
        logMaxFiles: 2,
        cgroupDirs: [],
      },
    },
    { terminal: { rows: 24, cols: 80 } },
  );
}

async function echoTimes(rootfs: string, dir: string): Promise<number[]> {
  const p = await launchShim(terminal(rootfs, dir, ['cat']), noCgroups);
  const a = await attachShim(join(dir, 'state'), 'start');
  const times: number[] = [];
  let waiting: (() => void) | undefined;
  a.output.on('data', () => waiting?.());
  for (let i = 0; i < KEYS + 10; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      waiting = resolve;
      a.stdin.write('x');
    });
    if (i >= 10) times.push(performance.now() - t0); // the first few warm the path up
  }
  process.kill(p.pid, 'SIGKILL');
  await p.exited;
  return times;
}

/** MiB/s of `MIB` MiB written to the terminal: with a session reading it, or the log alone. */
async function rate(rootfs: string, dir: string, attached: boolean): Promise<number> {
  const script = `read go; head -c ${MIB * 1024 * 1024} /dev/zero | tr '\\0' x`;
  const p = await launchShim(terminal(rootfs, dir, ['sh', '-c', script]), noCgroups);
  const a = await attachShim(join(dir, 'state'), 'now');
  let got = 0;
  a.output.on('data', (d: Buffer) => (got += d.length));
  const t0 = performance.now();
  a.stdin.write('\n');
  // The anchor: the session leaves once the go is sent, the shim writes the log alone.
  if (!attached) a.stdin.end(() => a.close());
  await p.exited;
  const seconds = (performance.now() - t0) / 1000;
  if (attached && got < MIB * 1024 * 1024) throw new Error(`the session got ${got} bytes of ${MIB} MiB`);
  return MIB / seconds;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the shim creates namespaces');
  const scratch = makeTmp('warden-bench-tty-');
  try {
    const rootfs = buildBusyboxRootfs(join(scratch, 'busybox'));
    const echo = await echoTimes(rootfs, join(scratch, 'echo'));
    const alone: number[] = [];
    const withSession: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      alone.push(await rate(rootfs, join(scratch, `alone-${r}`), false));
      withSession.push(await rate(rootfs, join(scratch, `session-${r}`), true));
    }
    const median = (xs: number[]) => pct(xs, 50);
    const share = median(withSession) / median(alone);
    console.log(`tty: ${KEYS} keystrokes; ${MIB} MiB × ${ROUNDS} rounds each way (load ${loadavg()})\n`);
    console.log('| row                                  | value        | target         |');
    console.log('| ------------------------------------ | ------------ | -------------- |');
    console.log(`| keystroke echo, median               | ${ms(pct(echo, 50))} |                |`);
    console.log(
      `| keystroke echo, p95                  | ${ms(pct(echo, 95))} | ≤ ${TARGET_ECHO_P95_MS} ms        |`,
    );
    console.log(`| output to the log alone (anchor)     | ${mibs(median(alone))} |                |`);
    console.log(`| output to the log and a session      | ${mibs(median(withSession))} |                |`);
    console.log(
      `| session rate / anchor                | ${share.toFixed(2).padStart(12)} | ≥ ${TARGET_RATE_SHARE}          |`,
    );
    const ok = pct(echo, 95) <= TARGET_ECHO_P95_MS && share >= TARGET_RATE_SHARE;
    console.log(ok ? 'PASS' : 'MISS');
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`.padStart(12);
const mibs = (v: number) => `${v.toFixed(1)} MiB/s`.padStart(12);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

void main();
