import { constants as osConstants } from 'node:os';
import type { SeccompProfile } from '../../policy';
import {
  CAPABILITIES,
  capabilityBit,
  DOCKER_DEFAULT_CAPABILITIES,
  isCapabilityName,
  normalizeCapability,
} from '../../platform/linux';

/*
 * The service <-> init shim protocol (the same diagram is in native/shim/main.c).
 *
 *   Warden service (Node)          warden-shim  S                 container init  C
 *   ─────────────────────          ──────────────                 ─────────────────
 *   spawn(shim; fds 0-2 = stdio,
 *         3 = control, 4 = status)
 *   fd3 ── CONFIG ──────────────►  read u32 length + NUL-separated records
 *                                  run:  clone(NEWPID|NEWNS|NEWUTS|NEWIPC[|NEWNET]) ─► C
 *                                  exec: setns(pidfd of target), fork ──────────────► C
 *   fd4 ◄── "PID <host pid>\n" ──                                  C blocks on sync pipe
 *   placeInCgroups(pid)           (a no-op when CONFIG has `cgroup` records: C joins itself)
 *   fd3 ── 'G' ─────────────────►  write 'G' on sync pipe ────────► "0" → `cgroup` tasks files (run)
 *                                                                  unshare(NEWCGROUP) (run)
 *      (fd3 EOF before 'G' =                                       mounts, pivot_root,
 *       abort: S SIGKILLs C,                                       hostname, lo up, rlimits,
 *       reaps it, exits 1)                                         creds, caps, no_new_privs
 *                                  (prepare: C writes {0, "ready"} on the exec-check pipe
 *   fd4 ◄── "READY\n"           ──   and waits; S waits for the go to exec; fd3 EOF = abort)
 *   fd3 ── 'E' ─────────────────►  write 'E' on sync pipe ────────►
 *                                                                  execve(argv, env)
 *                                  read exec-check pipe (O_CLOEXEC):
 *                                    EOF              = execve succeeded
 *                                    {errno, step}    = C failed before execve, and exited
 *   fd4 ◄── "EXEC\n"            ──   (success)
 *   fd4 ◄── "ERR <errno> <step>\n"   (failure; S reaps C and exits 1)
 *                                  waitpid(C)   (with `monitor`: native/shim/monitor.c's
 *                                    loop, which also writes C's output to the log,
 *                                    <state>/pid.json and exit.json, and serves <state>/ctl;
 *                                    with `terminal`, C made a pty before execve and sent its
 *                                    master to S: native/shim/pty.c)
 *   fd3 ── 'w' frames ──────────►  (exec with a terminal only: fd3 stays open for resizes,
 *                                    frames as on <state>/ctl, see shim-attach.ts)
 *   fd4 ◄── "EXIT <code> <sig>\n" ─  code = exit status or -1; sig = signal number or 0.
 *                                  S exits 0.
 *
 * A monitored S needs nothing from the service after EXEC and lives in its own session: it
 * outlives a stopped or killed service, which reconnects through <state>/ctl (shim-state.ts).
 *
 * S stays alive as a small waiter for as long as C runs: the service is not C's parent,
 * and only a parent can collect the real exit status (code, or the killing signal).
 * Failures in S itself (bad config, clone, setns) are also ERR lines, before or instead of
 * PID.
 *
 * CONFIG frame: little-endian u32 byte length, then NUL-terminated strings — a key
 * followed by its fixed number of values (see `encodeShimConfig`). Repeated keys append.
 */

export const SHIM_CONTROL_FD = 3;
export const SHIM_STATUS_FD = 4;
const MAX_CONFIG_BYTES = 1 << 20;

/** Accepts Docker's spellings: `NET_ADMIN`, `CAP_NET_ADMIN`, `net_admin`, and `ALL`. */
export function capabilityMask(add: readonly string[] = [], drop: readonly string[] = []): bigint {
  const bit = (c: string): bigint => {
    const name = normalizeCapability(c);
    if (!isCapabilityName(name)) throw new TypeError(`unknown capability '${c}'`);
    return capabilityBit(name);
  };
  const all = CAPABILITIES.reduce((m, c) => m | capabilityBit(c), 0n);
  let mask = DOCKER_DEFAULT_CAPABILITIES.reduce((m, c) => m | capabilityBit(c), 0n);
  // Docker applies drops to the default set, then adds: `--cap-drop ALL --cap-add X` = {X}.
  for (const c of drop) mask = normalizeCapability(c) === 'ALL' ? 0n : mask & ~bit(c);
  for (const c of add) mask = normalizeCapability(c) === 'ALL' ? all : mask | bit(c);
  return mask;
}

// prettier-ignore
export type RlimitName =
  | 'core' | 'cpu' | 'data' | 'fsize' | 'locks' | 'memlock' | 'msgqueue' | 'nice' | 'nofile' | 'nproc'
  | 'rss' | 'rtprio' | 'rttime' | 'sigpending' | 'stack' | 'as';

export interface ShimRlimit {
  type: RlimitName;
  /** 'unlimited' or a count; the shim caps both at its own hard limit (never raises it). */
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

/** The process to exec, in both modes. Names (user, group) are resolved by the caller. */
export interface ShimProcessSpec {
  args: string[];
  env: string[];
  cwd?: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** Changes to Docker's default set; see `capabilityMask`. */
  capAdd?: string[];
  capDrop?: string[];
  rlimits?: ShimRlimit[];
  /** Absent: Warden's built-in profile. Compiled for this process's capabilities. */
  seccomp?: SeccompProfile | 'unconfined';
  /** That profile compiled to BPF (seccomp-compiler.ts); launchShim fills it in. */
  seccompProgram?: Buffer;
  /**
   * A pty as the process's fds 0-2 and controlling terminal, made inside the container
   * (native/shim/pty.c), with its first size (0 × 0: the kernel's). The shim keeps the master:
   * run mode serves it on the control socket (shim-attach.ts), exec mode relays it over the
   * shim's own fds 0-1 and takes resizes on the control fd.
   */
  terminal?: { rows: number; cols: number };
}

export type ShimMount =
  | { type: 'bind'; source: string; destination: string; readonly?: boolean }
  | { type: 'tmpfs'; destination: string; sizeBytes?: number; mode?: number };

export interface ShimRunConfig {
  mode: 'run';
  /** A plain rootfs dir, or (with `overlay`) the empty dir the overlay is mounted on. */
  rootfs: string;
  overlay?: { lowerdirs: string[]; upperdir: string; workdir: string };
  readonlyRootfs?: boolean;
  hostname?: string;
  network: 'none' | 'host';
  /** Namespaced sysctls, written by C in its new namespaces before the rootfs (sysctl.c). */
  sysctls?: Record<string, string>;
  /** Host files the caller prepared, bind-mounted read-write like Docker does. */
  etcFiles?: { hostname?: string; hosts?: string; resolvConf?: string };
  mounts?: ShimMount[];
  /**
   * cgroup v1 `tasks` files C writes "0" to after 'G', moving itself into the container's
   * cgroups (see join_cgroups in native/shim/main.c for why); then placeInCgroups has
   * nothing left to do. Absent: the service moves C before 'G'.
   */
  cgroupTasks?: string[];
  /**
   * Stop right before execve and report READY; the process execs when the service sends 'E'
   * (a prepared start: the setup is paid before the start is asked for). Set by
   * `prepareShim`, not by callers.
   */
  prepare?: boolean;
  /**
   * The shim monitors the container itself (native/shim/monitor.c), so that it outlives the
   * service: it writes stdout/stderr to `logPath` (json-file lines; fds 1-2 the service
   * passes are then unused), `pid.json` and `exit.json` in `stateDir`, and serves
   * `stateDir/ctl`. `cgroupDirs` are read at the exit for OOM kills and final usage.
   */
  monitor?: ShimMonitorConfig;
  process: ShimProcessSpec;
}

export interface ShimMonitorConfig {
  stateDir: string;
  /** null: `--log-driver none`, the shim reads the output and keeps none of it. */
  logPath: string | null;
  logMaxBytes: number;
  logMaxFiles: number;
  cgroupDirs: string[];
  /**
   * The container's stdin is a pipe the shim keeps and feeds from attached clients, so it
   * stays open while no Warden runs (`docker run -i`, re-attached after a live restore).
   * Without a terminal only; with one, stdin is the terminal.
   */
  stdin?: boolean;
}

export interface ShimExecConfig {
  mode: 'exec';
  /** Host pid of the container's PID 1; its namespaces are joined. */
  targetPid: number;
  process: ShimProcessSpec;
}

export type ShimConfig = ShimRunConfig | ShimExecConfig;

export type ShimMessage =
  | { type: 'pid'; pid: number }
  | { type: 'ready' }
  | { type: 'exec' }
  | { type: 'error'; errno: number; step: string }
  | { type: 'exit'; exitCode: number | null; signal: number | null };

function assertNoNul(key: string, value: string): string {
  if (value.includes('\0')) throw new TypeError(`shim config ${key}: value contains NUL`);
  return value;
}

function uint(key: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new TypeError(`shim config ${key}: ${n} is not a non-negative integer`);
  return String(n);
}

export function encodeShimConfig(config: ShimConfig): Buffer {
  const parts: string[] = [];
  const put = (key: string, ...values: string[]): void => {
    parts.push(key, ...values.map((v) => assertNoNul(key, v)));
  };

  put('mode', config.mode);
  if (config.mode === 'run') {
    put('rootfs', config.rootfs);
    if (config.overlay) {
      for (const dir of config.overlay.lowerdirs) put('lower', dir);
      put('upper', config.overlay.upperdir);
      put('work', config.overlay.workdir);
    }
    put('readonly', config.readonlyRootfs ? '1' : '0');
    if (config.hostname !== undefined) put('hostname', config.hostname);
    put('net', config.network);
    for (const [name, value] of Object.entries(config.sysctls ?? {})) put('sysctl', name, value);
    const etc = config.etcFiles ?? {};
    if (etc.hostname) put('bind', etc.hostname, '/etc/hostname', 'rw');
    if (etc.hosts) put('bind', etc.hosts, '/etc/hosts', 'rw');
    if (etc.resolvConf) put('bind', etc.resolvConf, '/etc/resolv.conf', 'rw');
    for (const m of config.mounts ?? []) {
      if (m.type === 'bind') put('bind', m.source, m.destination, m.readonly ? 'ro' : 'rw');
      else put('tmpfs', m.destination, uint('tmpfs size', m.sizeBytes ?? 0), (m.mode ?? 0o1777).toString(8));
    }
    for (const file of config.cgroupTasks ?? []) put('cgroup', file);
    if (config.prepare) put('prepare', '1');
    const m = config.monitor;
    if (m) {
      put('state', m.stateDir);
      if (m.logPath === null) put('nolog', '1');
      else put('log', m.logPath, uint('log max', m.logMaxBytes), uint('log files', m.logMaxFiles));
      for (const dir of m.cgroupDirs) put('cgroupdir', dir);
      if (m.stdin && !config.process.terminal) put('stdin', '1');
    }
  } else {
    put('target', uint('target', config.targetPid));
  }

  const p = config.process;
  if (p.args.length === 0) throw new TypeError('shim config: process.args is empty');
  for (const a of p.args) put('arg', a);
  for (const e of p.env) put('env', e);
  put('cwd', p.cwd ?? '/');
  put('uid', uint('uid', p.uid));
  put('gid', uint('gid', p.gid));
  for (const g of p.additionalGids ?? []) put('group', uint('group', g));
  put('caps', capabilityMask(p.capAdd, p.capDrop).toString(16));
  for (const r of p.rlimits ?? []) {
    const v = (x: number | 'unlimited'): string => (x === 'unlimited' ? x : uint(`rlimit ${r.type}`, x));
    put('rlimit', r.type, v(r.soft), v(r.hard));
  }
  if (p.seccomp === 'unconfined') put('seccomp', 'unconfined');
  else if (p.seccompProgram) {
    put('seccomp', 'bpf');
    put('scbpf', p.seccompProgram.toString('hex'));
  } else throw new TypeError('shim config: the seccomp program is not compiled (seccompProgram)');
  if (p.terminal) put('tty', uint('tty rows', p.terminal.rows), uint('tty cols', p.terminal.cols));
  return encodeFrame(parts);
}

/** A CONFIG frame from its records; values must not contain NUL. */
export function encodeFrame(parts: string[]): Buffer {
  const body = Buffer.from(parts.map((s) => s + '\0').join(''), 'utf8');
  if (body.length > MAX_CONFIG_BYTES)
    throw new RangeError(`shim config is ${body.length} bytes (max ${MAX_CONFIG_BYTES})`);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Incremental decoder for the status fd: feed chunks, get whole messages. */
export class ShimMessageDecoder {
  private pending = '';

  push(chunk: Buffer | string): ShimMessage[] {
    this.pending += chunk.toString();
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines.filter((l) => l.length > 0).map(parseShimLine);
  }
}

export function parseShimLine(line: string): ShimMessage {
  const [type, a, b] = line.split(' ', 3);
  const int = (s: string | undefined): number => {
    if (s === undefined || !/^-?\d+$/.test(s)) throw new Error(`malformed shim message '${line}'`);
    return Number(s);
  };
  switch (type) {
    case 'PID':
      return { type: 'pid', pid: int(a) };
    case 'READY':
      return { type: 'ready' };
    case 'EXEC':
      return { type: 'exec' };
    case 'ERR':
      return { type: 'error', errno: int(a), step: line.slice(`ERR ${a} `.length) };
    case 'EXIT': {
      const code = int(a);
      const sig = int(b);
      return { type: 'exit', exitCode: code < 0 ? null : code, signal: sig > 0 ? sig : null };
    }
    default:
      throw new Error(`unknown shim message '${line}'`);
  }
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function signalName(signal: number): NodeJS.Signals | undefined {
  return signalNames.get(signal);
}
