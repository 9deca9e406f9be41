import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { release as osRelease } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { SeccompProfile } from '../../policy';
import { BUILTIN_SECCOMP_PROFILE } from './seccomp-default';
import { seccompRecords } from './seccomp-records';
import { capabilityMask, encodeFrame, errnoName, parseShimLine, type ShimConfig } from './shim-protocol';

/**
 * Compiled seccomp programs, one per distinct rule set. libseccomp needs several ms of CPU
 * to compile the built-in profile (70-130 ms of wall time with the shim's start on this busy
 * host), too much for every launch; the rule
 * set depends only on the profile and the capability set, so a service sees a handful and
 * compiles each once, in the shim's seccomp mode (native/shim/seccomp.c). A launch then sends
 * the program (~10 KB) and the shim only loads it.
 */
const MAX_CACHED = 64;
const cache = new Map<string, Promise<Buffer>>();
/** The rule set of the built-in profile per capability mask: the common case skips the hashing. */
const builtinKeys = new Map<bigint, string>();

/** BPF instructions are 8 bytes (struct sock_filter); the kernel takes at most 4096. */
const BPF_INSN_BYTES = 8;

function compile(shimPath: string, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Rare (once per rule set), so child_process's fork cost is paid rarely too.
    const child = spawn(shimPath, [], { stdio: ['ignore', 'pipe', 'ignore', 'pipe', 'pipe'], env: {} });
    const out: Buffer[] = [];
    let status = '';
    (child.stdout as Readable).on('data', (c: Buffer) => out.push(c));
    (child.stdio[4] as Readable).on('data', (c: Buffer) => (status += c.toString()));
    (child.stdio[3] as Writable).on('error', () => undefined); // a shim that died early: see exit
    (child.stdio[3] as Writable).end(frame);
    child.on('error', reject);
    child.on('close', (code) => {
      const program = Buffer.concat(out);
      if (code === 0 && program.length > 0 && program.length % BPF_INSN_BYTES === 0) return resolve(program);
      const line = status.split('\n').find((l) => l.startsWith('ERR '));
      const msg = line ? parseShimLine(line) : undefined;
      const err = new Error(
        msg?.type === 'error'
          ? `compile seccomp filter: ${msg.step}`
          : `compile seccomp filter: exit ${code}`,
      ) as NodeJS.ErrnoException;
      err.code = msg?.type === 'error' ? errnoName(msg.errno) : 'EIO';
      reject(err);
    });
  });
}

function ruleSetFrame(profile: SeccompProfile, caps: bigint): Buffer {
  const records = seccompRecords(profile, { caps, arch: process.arch, kernel: osRelease() });
  const parts = ['mode', 'seccomp', 'seccomp', records.defaultAction];
  for (const a of records.arches) parts.push('scarch', a);
  for (const r of records.rules) parts.push('scrule', ...r);
  if (parts.some((v) => v.includes('\0'))) throw new TypeError('seccomp profile: a value contains NUL');
  return encodeFrame(parts);
}

/** The program for this process's profile and capabilities, compiled once per distinct rule set. */
export function seccompProgram(config: ShimConfig, shimPath: string): Promise<Buffer> | undefined {
  const p = config.process;
  if (p.seccomp === 'unconfined') return undefined;
  const caps = capabilityMask(p.capAdd, p.capDrop);
  let frame: Buffer | undefined;
  let key = p.seccomp ? undefined : builtinKeys.get(caps);
  if (key === undefined) {
    frame = ruleSetFrame(p.seccomp ?? BUILTIN_SECCOMP_PROFILE, caps);
    key = createHash('sha256').update(frame).digest('hex');
    if (!p.seccomp && builtinKeys.size < MAX_CACHED) builtinKeys.set(caps, key);
  }
  key = `${shimPath}\0${key}`;
  let program = cache.get(key);
  if (!program) {
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    program = compile(shimPath, frame ?? ruleSetFrame(BUILTIN_SECCOMP_PROFILE, caps));
    const k = key;
    cache.set(k, program);
    program.catch(() => cache.delete(k)); // a failure is not remembered: the next launch retries
  }
  return program;
}
