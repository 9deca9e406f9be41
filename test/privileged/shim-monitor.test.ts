/*
 * The shim as the container's monitor (native/shim/monitor.c) against the real kernel: the
 * json-file log it writes (escaping, long lines, rotation), pid.json's start times, exit.json,
 * and the control socket a Warden that did not start the container waits on.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim } from '../../src/runtime/shim/launch-shim';
import {
  connectShim,
  procStartTime,
  readShimExit,
  readShimPid,
  shimAlive,
} from '../../src/runtime/shim/shim-state';
import { isRoot, makeTmp, noCgroups, runConfig, useBusyboxScratch } from '../fixtures/rootfs/shim-harness';
import { eventually } from '../utils/services';

const describeRoot = isRoot ? describe : describe.skip;
const dirs = useBusyboxScratch('warden-shim-monitor-');

const monitored = (dir: string, args: string[], logMaxBytes = 1 << 20, logMaxFiles = 3) =>
  runConfig({ rootfs: dirs.busybox }, args, {
    monitor: {
      stateDir: join(dir, 'state'),
      logPath: join(dir, 'log.jsonl'),
      logMaxBytes,
      logMaxFiles,
      cgroupDirs: [],
    },
  });

const entries = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { log: string; stream: string; time: string });

describeRoot('shim monitor', () => {
  it('writes stdout and stderr as json-file lines, escaped, long lines cut at 16 KiB; then exit.json', async () => {
    const dir = makeTmp('warden-mon-');
    const script = [
      `printf 'quote " back \\\\ tab \\t bell \\a\\n'`,
      `echo err >&2`,
      `printf 'no newline at the end'`,
      `head -c 20000 /dev/zero | tr '\\0' x >&2`,
      'exit 5',
    ].join('; ');
    const p = await launchShim(monitored(dir, ['sh', '-c', script]), noCgroups);
    expect(await p.exited).toEqual({ exitCode: 5, signal: null });
    const log = entries(join(dir, 'log.jsonl'));
    const out = log.filter((e) => e.stream === 'stdout').map((e) => e.log);
    const err = log.filter((e) => e.stream === 'stderr').map((e) => e.log);
    expect(out).toEqual(['quote " back \\ tab \t bell \u0007\n', 'no newline at the end']);
    expect(err[0]).toBe('err\n');
    expect(err.slice(1).map((l) => l.length)).toEqual([16384, 20000 - 16384]);
    for (const e of log) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const exit = readShimExit(join(dir, 'state'))!;
    expect(exit).toMatchObject({ exitCode: 5, signal: 0, oomKilled: false });
    expect(Date.now() - Date.parse(exit.finishedAt)).toBeLessThan(60_000);
    expect(existsSync(join(dir, 'state', 'ctl'))).toBe(false); // gone with the shim
    rmSync(dir, { recursive: true, force: true });
  });

  it('rotates by size, keeping the configured number of files', async () => {
    const dir = makeTmp('warden-mon-');
    const p = await launchShim(
      monitored(dir, ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done'], 2048, 3),
      noCgroups,
    );
    await p.exited;
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('log.jsonl'))
        .sort(),
    ).toEqual(['log.jsonl', 'log.jsonl.1', 'log.jsonl.2']);
    for (const f of ['log.jsonl', 'log.jsonl.1', 'log.jsonl.2'])
      expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(2048);
    const kept = ['log.jsonl.2', 'log.jsonl.1', 'log.jsonl'].flatMap((f) => entries(join(dir, f)));
    expect(kept[kept.length - 1].log).toBe('line-199\n');
    // Contiguous: the oldest lines went whole, with their files.
    const first = Number(kept[0].log.slice(5));
    expect(kept.map((e) => e.log)).toEqual(kept.map((_, i) => `line-${first + i}\n`));
    rmSync(dir, { recursive: true, force: true });
  });

  it('pid.json has the start times; the control socket reports the exit to a client that did not start it', async () => {
    const dir = makeTmp('warden-mon-');
    const state = join(dir, 'state');
    const p = await launchShim(monitored(dir, ['sh', '-c', 'read x; exit 9']), {
      ...noCgroups,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // A failure must not leave the shim behind for the next file's process counts.
    try {
      const pid = readShimPid(state)!;
      expect(pid).toMatchObject({ pid: p.pid, shimPid: p.shimPid });
      expect(pid.startTime).toBe(procStartTime(p.pid));
      expect(shimAlive(pid)).toEqual({ container: true, shim: true });
      // A pid that is not the recorded process (here: ours) does not pass for it.
      expect(shimAlive({ ...pid, pid: process.pid })).toMatchObject({ container: false });

      const conn = await connectShim(state);
      p.stdin!.end('go\n');
      const exit = await conn.exited;
      expect(exit).toMatchObject({ exitCode: 9, signal: 0 });
      expect(await p.exited).toEqual({ exitCode: 9, signal: null });
      await eventually('the shim to be gone', async () => procStartTime(pid.shimPid) !== pid.shimStartTime);
    } finally {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* exited, as it should have */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
