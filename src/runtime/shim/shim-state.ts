import * as fs from 'node:fs';
import { connect, type Socket } from 'node:net';
import * as path from 'node:path';
import { signalName } from './shim-protocol';
import type { ExitStatus, LaunchedProcess } from './launch-shim';

/*
 * What a monitoring shim (native/shim/monitor.c) leaves in its container's state dir, read
 * by a Warden that did not start it (live restore):
 *
 *   pid.json   {"pid", "startTime", "shimPid", "shimStartTime"}: start times are field 22
 *              of /proc/<pid>/stat (clock ticks since boot), which a reused pid does not
 *              share, and which a reboot makes meaningless
 *   exit.json  {"exitCode", "signal", "finishedAt", "oomKilled", "usage"}, once the process
 *              ended and its output is in the log
 *   ctl        unix socket: "PID <pid> <start time>\n" on connect, "EXIT <code> <sig>\n"
 *              after exit.json is written, then EOF; attach sessions speak frames after
 *              the PID line (shim-attach.ts)
 */

export interface ShimPidFile {
  pid: number;
  startTime: number;
  shimPid: number;
  shimStartTime: number;
}

export interface ShimExitFile {
  exitCode: number;
  /** Signal number, 0 when the process exited by itself. */
  signal: number;
  finishedAt: string;
  oomKilled: boolean;
  usage: { cpuNs: number; memoryPeakBytes: number; oomKills: number };
}

/**
 * Field 22 of /proc/<pid>/stat; undefined when the process is gone, a zombie included: a killed
 * shim whose parent is the host's init stays in /proc until that init reaps it, which some
 * inits (a CI runner's, a container's) do late.
 */
export function procStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  const value = Number(rest[22 - 3]);
  return Number.isFinite(value) ? value : undefined;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined; // absent; never half-written (the shim renames it into place)
  }
}

export const readShimPid = (stateDir: string) => readJson<ShimPidFile>(path.join(stateDir, 'pid.json'));
export const readShimExit = (stateDir: string) => readJson<ShimExitFile>(path.join(stateDir, 'exit.json'));

/** Docker's convention, as the shim's EXIT line: 128 + signal for a signal death. */
export function exitStatusOf(e: ShimExitFile): ExitStatus {
  return { exitCode: e.exitCode, signal: e.signal > 0 ? (signalName(e.signal) ?? null) : null };
}

/**
 * Whether `pid.json`'s processes are the ones running now: both pids alive with the start
 * times the shim recorded. After a reboot or a pid reuse they are not.
 */
export function shimAlive(p: ShimPidFile): { container: boolean; shim: boolean } {
  return {
    container: procStartTime(p.pid) === p.startTime,
    shim: procStartTime(p.shimPid) === p.shimStartTime,
  };
}

/**
 * Connects to a running shim's control socket. The path goes through /proc/self/fd: a unix
 * socket's path is capped at 108 bytes and a data dir may be longer. Resolves once connected
 * (the kernel completes it from the listen backlog: the shim need not run first, which keeps
 * adopting hundreds of containers on a busy host from waiting for each shim's turn; the pid
 * was checked against pid.json and /proc already). `exited` settles with the exit file once
 * the shim closes the connection (undefined: the shim died without writing one).
 */
export async function connectShim(
  stateDir: string,
): Promise<{ exited: Promise<ShimExitFile | undefined>; close(): void }> {
  const socket = await connectCtl(stateDir);
  socket.on('error', () => undefined); // 'close' follows
  socket.resume(); // the PID and EXIT lines; the exit file says the same, whole
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let detached = false;
  return {
    // Closed here (Warden stopping, the container left running): no exit to report.
    exited: closed.then(() => (detached ? new Promise<never>(() => undefined) : readShimExit(stateDir))),
    close: () => {
      detached = true;
      socket.destroy();
    },
  };
}

/** A connection to `<stateDir>/ctl`, through /proc/self/fd (see connectShim). */
export async function connectCtl(stateDir: string): Promise<Socket> {
  const dirFd = fs.openSync(stateDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const socket = connect(`/proc/self/fd/${dirFd}/ctl`);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  } finally {
    fs.closeSync(dirFd);
  }
}

/** A process started by another Warden, as the lifecycle sees one it launched itself. */
export function adoptedProcess(
  p: Pick<ShimPidFile, 'pid' | 'shimPid'>,
  exited: Promise<ExitStatus>,
): LaunchedProcess {
  return { pid: p.pid, shimPid: p.shimPid, stdin: null, stdout: null, stderr: null, exited };
}
