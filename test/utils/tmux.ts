import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const hasTmux = () => ['/usr/bin/tmux', '/usr/local/bin/tmux'].some((p) => fs.existsSync(p));

/**
 * A private tmux server (its own socket: nothing of the machine's or another test's tmux is
 * touched) whose windows run commands on a real terminal: what a person at a keyboard does,
 * driven by `send-keys`, read back with `capture-pane`.
 */
export class Tmux {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tmux-'));
  private readonly socket = path.join(this.dir, 'sock');
  private started = false;

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], {
      env: this.env,
      encoding: 'utf8',
    });
  }

  /** A new window named `name`, `cols`×`rows`, running `command` (a shell line). */
  open(name: string, command: string, cols = 100, rows = 30): void {
    if (!this.started) {
      // An idle first window holds the server while the option is set: panes stay after
      // their command ends, so what it printed last, and its exit status, can still be read.
      // (resize-window fixes a window's size by itself; `window-size manual` set globally
      // makes tmux 3.3a's server crash at the next new-window.)
      this.tmux(['new-session', '-d', '-s', 'main', '-n', 'idle', 'sleep 86400']);
      this.tmux(['set-option', '-g', 'remain-on-exit', 'on']);
      this.started = true;
    }
    // The window gets its size before its command starts, so the CLI reads the right one.
    // The shell prints the command's exit status too: tmux 3.3a at times marks a pane dead
    // without its status (pane_dead_status empty, nothing on the screen, the process gone).
    fs.rmSync(this.statusFile(name), { force: true });
    // A name is one window: a window left from an earlier try of the same test (remain-on-exit
    // keeps it) would otherwise be the one `main:<name>` finds, with its old screen and status.
    try {
      this.tmux(['kill-window', '-t', `main:${name}`]);
    } catch {
      /* none yet */
    }
    this.tmux([
      'new-window',
      '-d',
      '-t',
      'main',
      '-n',
      name,
      `sleep 0.3; ${command}; s=$?; echo "$s" > ${this.statusFile(name)}; echo "[exit $s]"; exit $s`,
    ]);
    this.resize(name, cols, rows);
  }

  /** Keys as tmux names them: text, `Enter`, `C-p`, `C-d`. */
  keys(name: string, ...keys: string[]): void {
    this.tmux(['send-keys', '-t', `main:${name}`, ...keys]);
  }

  /** Types a line and presses Enter. */
  type(name: string, line: string): void {
    this.tmux(['send-keys', '-t', `main:${name}`, '-l', line]);
    this.keys(name, 'Enter');
  }

  screen(name: string): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', `main:${name}`]);
  }

  resize(name: string, cols: number, rows: number): void {
    this.tmux(['resize-window', '-t', `main:${name}`, '-x', String(cols), '-y', String(rows)]);
  }

  /** Whether the window's command has ended (remain-on-exit keeps its pane). */
  dead(name: string): boolean {
    return this.tmux(['display-message', '-p', '-t', `main:${name}`, '#{pane_dead}']).trim() === '1';
  }

  /**
   * The command's exit status once it has ended: as its shell printed it, else as tmux kept it
   * (128 + the signal when the pane's process was killed by one).
   */
  exitStatus(name: string): number | undefined {
    // Written by the shell itself, so it does not depend on the terminal or on tmux having
    // collected the pane's status (both have been seen missing with tmux 3.3a).
    const written = readIfThere(this.statusFile(name)).trim();
    if (written) return Number(written);
    const printed = /^\[exit (\d+)\]$/m.exec(this.screen(name));
    if (printed) return Number(printed[1]);
    const [status, signal] = this.tmux([
      'display-message',
      '-p',
      '-t',
      `main:${name}`,
      '#{pane_dead_status} #{pane_dead_signal}',
    ])
      .replace(/\n$/, '')
      .split(' ');
    // Killed by a signal: the shell's convention, 128 + its number, so a failure names it.
    if (!status && signal) return 128 + Number(signal);
    return status ? Number(status) : undefined;
  }

  private statusFile(name: string): string {
    return path.join(this.dir, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}.status`);
  }

  close(): void {
    try {
      if (this.started) this.tmux(['kill-server']);
    } catch {
      /* already gone */
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
