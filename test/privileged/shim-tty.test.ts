/*
 * The container's terminal and stdin through the shim (root only): the pty made inside the
 * container (session leader, controlling terminal, /dev/pts of its own devpts), its output
 * served raw to attach sessions on <state>/ctl and logged as stdout, resizes, and a stdin
 * pipe that outlives one attach session (what a re-attach after a live restore relies on).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim, type LaunchedProcess } from '../../src/runtime/shim/launch-shim';
import { attachShim, resizeShim, type ShimAttachment } from '../../src/runtime/shim/shim-attach';
import type { ShimMonitorConfig } from '../../src/runtime/shim/shim-protocol';
import { isRoot, makeTmp, noCgroups, runConfig, useBusyboxScratch } from '../fixtures/rootfs/shim-harness';
import { until } from '../utils/services';

const describeRoot = isRoot ? describe : describe.skip;

const dirs = useBusyboxScratch('warden-shim-tty-');

const monitor = (dir: string, extra: Partial<ShimMonitorConfig> = {}): ShimMonitorConfig => ({
  stateDir: join(dir, 'state'),
  logPath: join(dir, 'log.jsonl'),
  logMaxBytes: 1 << 20,
  logMaxFiles: 2,
  cgroupDirs: [],
  ...extra,
});

/** Everything a session's output has carried so far, as text. */
function screen(a: ShimAttachment): () => string {
  let text = '';
  a.output.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

const logText = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { log: string; stream: string })
    .map((e) => `${e.stream}:${e.log}`)
    .join('');

describeRoot('shim terminal and stdin', () => {
  const started: LaunchedProcess[] = [];
  afterAll(async () => {
    for (const p of started) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await p.exited.catch(() => undefined);
    }
  });

  it('run: a pty of its own as controlling terminal; raw output to the session and the log; typed input; resize', async () => {
    const dir = makeTmp('warden-tty-');
    const p = await launchShim(
      runConfig(
        { rootfs: dirs.busybox },
        ['sh'],
        { monitor: monitor(dir) },
        { terminal: { rows: 24, cols: 80 } },
      ),
      noCgroups,
    );
    started.push(p);
    const a = await attachShim(join(dir, 'state'), 'start');
    const seen = screen(a);
    // The prompt has no newline: it reaches the session at once, from the run's start.
    await until(() => expect(seen()).toContain('# '));
    a.stdin.write('tty; stty size; cut -d" " -f1,6,7 /proc/self/stat; echo pid $$\n');
    await until(() => expect(seen()).toMatch(/pid 1\r\n/));
    expect(seen()).toContain('/dev/pts/0\r\n');
    expect(seen()).toContain('24 80\r\n');
    // cut's own stat: its session is PID 1's (sid field 6), and it has a terminal (tty_nr ≠ 0)
    const stat = /(\d+) 1 (\d+)\r\n/.exec(seen());
    expect(stat).not.toBeNull();
    expect(Number(stat![2])).toBeGreaterThan(0);

    await resizeShim(join(dir, 'state'), 50, 132);
    a.stdin.write('stty size\n');
    await until(() => expect(seen()).toContain('50 132\r\n'));

    a.stdin.write('exit 7\n');
    expect(await a.ended).toEqual({ exitCode: 7, signal: 0 });
    expect(await p.exited).toEqual({ exitCode: 7, signal: null });
    // Docker logs a terminal as stdout, CRLF and all.
    expect(logText(dir)).toContain('stdout:/dev/pts/0\r\n');
    expect(logText(dir)).not.toContain('stderr:');
    rmSync(dir, { recursive: true, force: true });
  });

  it('run: a session from now does not get earlier output; a detached session leaves the process running', async () => {
    const dir = makeTmp('warden-tty-');
    const p = await launchShim(
      runConfig(
        { rootfs: dirs.busybox },
        ['sh', '-c', 'echo early; read x; echo got-$x; read y'],
        { monitor: monitor(dir) },
        { terminal: { rows: 0, cols: 0 } },
      ),
      noCgroups,
    );
    started.push(p);
    await until(() => expect(logText(dir)).toContain('early'));
    const late = await attachShim(join(dir, 'state'), 'now');
    const seen = screen(late);
    late.stdin.write('one\n');
    await until(() => expect(seen()).toContain('got-one'));
    expect(seen()).not.toContain('early');
    late.close();
    expect(await late.ended).toBeUndefined();
    const again = await attachShim(join(dir, 'state'), 'now');
    again.stdin.write('two\n');
    expect(await again.ended).toEqual({ exitCode: 0, signal: 0 });
    expect(await p.exited).toEqual({ exitCode: 0, signal: null });
    rmSync(dir, { recursive: true, force: true });
  });

  it('run without a terminal: stdin is a pipe the shim keeps across sessions; its end closes it', async () => {
    const dir = makeTmp('warden-tty-');
    const p = await launchShim(
      runConfig({ rootfs: dirs.busybox }, ['sh', '-c', 'cat; echo done'], {
        monitor: monitor(dir, { stdin: true }),
      }),
      noCgroups,
    );
    started.push(p);
    const first = await attachShim(join(dir, 'state'), 'now');
    first.stdin.write('first\n');
    await until(() => expect(logText(dir)).toContain('stdout:first\n'));
    first.close(); // a detach: the pipe stays open, cat keeps reading
    const second = await attachShim(join(dir, 'state'), 'now');
    second.stdin.write('second\n');
    second.closeStdin();
    expect(await p.exited).toEqual({ exitCode: 0, signal: null });
    expect(logText(dir)).toBe('stdout:first\nstdout:second\nstdout:done\n');
    rmSync(dir, { recursive: true, force: true });
  });

  it('exec: a terminal inside the container, relayed over the shim, resized through the control fd', async () => {
    const dir = makeTmp('warden-tty-');
    const c = await launchShim(
      runConfig({ rootfs: dirs.busybox }, ['sleep', '600'], { monitor: monitor(dir) }),
      noCgroups,
    );
    started.push(c);
    const e = await launchShim(
      {
        mode: 'exec',
        targetPid: c.pid,
        process: { args: ['sh'], env: ['PATH=/bin'], uid: 0, gid: 0, terminal: { rows: 30, cols: 100 } },
      },
      { ...noCgroups, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let seen = '';
    e.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    e.stdin!.write('tty; stty size\n');
    await until(() => expect(seen).toContain('30 100\r\n'));
    expect(seen).toContain('/dev/pts/0\r\n');
    expect(e.resize).toBeDefined();
    e.resize!(40, 120);
    e.stdin!.write('stty size; exit 3\n');
    expect(await e.exited).toEqual({ exitCode: 3, signal: null });
    expect(seen).toContain('40 120\r\n');
    rmSync(dir, { recursive: true, force: true });
  });
});
