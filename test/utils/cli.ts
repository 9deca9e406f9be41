import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../../src/platform/process/child-process';
import { eventually } from './services';
import { ADMIN_TOKEN } from './warden';

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'warden.js');

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error(
      "dist/ is missing: the CLI tests run the compiled command; run 'npm test' (it builds) or 'npm run build'",
    );
  }
}

/** Environment for a spawned warden: ours minus anything that would point it at other servers. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('WARDEN_') || k === 'DATABASE_URL' || k === 'REDIS_URL') delete env[k];
  return { ...env, ...extra };
}

export function runCli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [BIN, ...args], { env: cliEnv(env), encoding: 'utf8', timeout: 60000 });
}

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exit: Promise<number | string>;
}

export function startCli(args: string[], env: Record<string, string>): CliProcess {
  // A parent-death signal: a test that fails (or a jest that exits) before stopping its warden
  // must not leave it running. setpriv execs node, so the pid and signals are warden's own.
  const child = spawn('setpriv', ['--pdeathsig=SIGKILL', '--', process.execPath, BIN, ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | string>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  return { child, output: () => out, exit };
}

export async function waitHealthy(url: string, proc: CliProcess, timeoutMs = 90000): Promise<void> {
  await eventually(
    `${url}/health to be green (output so far:\n${proc.output().slice(-2000)})`,
    async () => {
      if (proc.child.exitCode !== null)
        throw new Error(`warden exited ${proc.child.exitCode}:\n${proc.output().slice(-3000)}`);
      const r = await fetch(`${url}/health`);
      return r.status === 200;
    },
    timeoutMs,
  );
}

/** Processes whose command line mentions `needle` (a data dir): what a clean stop must leave none of. */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && Number(pid) !== process.pid) found.push(`${pid} ${cmd}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/**
 * The settings of a CLI-started `up`/`serve` of its own (embedded servers in `dataDir`): a free
 * port, the test admin token, the given cgroup parent; and the URL it will answer on.
 */
export async function cliWardenEnv(
  dataDir: string,
  cgroupParent: string,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; url: string }> {
  assertBuilt();
  const port = await freePort();
  return {
    env: {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_PORT: String(port),
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WARDEN_CGROUP_PARENT: cgroupParent,
      ...extra,
    },
    url: `http://127.0.0.1:${port}`,
  };
}
