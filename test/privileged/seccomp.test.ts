/*
 * The seccomp filter the shim installs (root only): the built-in profile blocks what
 * Docker's default profile blocks (namespaces, keyring, bpf, userfaultfd, perf, kexec,
 * modules, mount) with EPERM, for the container's init and for exec'd processes; ordinary
 * programs (busybox, a host Node and Python mounted read-only) are unaffected; unconfined
 * and custom profiles are what they say. Each blocked call is also made unconfined, so the
 * test shows the filter made the difference, not a missing capability.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim, type LaunchedProcess } from '../../src/runtime/shim/launch-shim';
import type { SeccompProfile } from '../../src/policy';
import type { ShimProcessSpec } from '../../src/runtime/shim/shim-protocol';
import { buildBusyboxRootfs } from '../fixtures/rootfs/busybox-rootfs';
import {
  buildShim,
  collect,
  ENV,
  isRoot,
  makeTmp,
  noCgroups,
  rootfsConfig,
  run,
  runConfig,
} from '../fixtures/rootfs/shim-harness';

if (!isRoot) console.warn('seccomp tests skipped: they need root (namespaces, mounts); CI runs them as root');
const describeRoot = isRoot ? describe : describe.skip;

const BLOCKED = [
  'keyctl',
  'add_key',
  'bpf',
  'userfaultfd',
  'perf_event_open',
  'unshare_user',
  'unshare_net',
  'setns',
  'mount',
  'kexec_load',
  'init_module',
  'io_uring_setup',
];

describeRoot('seccomp in the shim', () => {
  let scratch: string;
  let busybox: string;
  const fs = () => rootfsConfig('overlay', busybox, scratch);
  const probe = (calls: string[], proc: Partial<ShimProcessSpec> = {}) =>
    run(runConfig(fs(), ['/probe', ...calls], {}, proc));
  const outcomes = (stdout: string) =>
    Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );

  beforeAll(() => {
    buildShim();
    scratch = makeTmp('warden-seccomp-test-');
    busybox = buildBusyboxRootfs(join(scratch, 'busybox'));
    execFileSync('cc', [
      '-static',
      '-O2',
      '-o',
      join(busybox, 'probe'),
      join(__dirname, '../fixtures/seccomp/probe.c'),
    ]);
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('answers EPERM for every blocked family by default, and is in filter mode', async () => {
    const r = await probe([...BLOCKED, 'clone3', 'getpid']);
    const out = outcomes(r.stdout);
    for (const call of BLOCKED) expect([call, out[call]]).toEqual([call, 'EPERM']);
    // clone3 answers ENOSYS so the C library falls back to clone, whose flags are checked
    expect(out.clone3).toBe('ENOSYS');
    expect(out.getpid).toBe('ok');
    const status = await run(runConfig(fs(), ['grep', '-E', '^(Seccomp|NoNewPrivs):', '/proc/self/status']));
    expect(status.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual(
      expect.arrayContaining(['Seccomp: 2', 'NoNewPrivs: 1']),
    );
  });

  it('makes the difference: unconfined, the same calls reach the kernel', async () => {
    const r = await probe(['keyctl', 'unshare_net', 'unshare_user', 'unshare_net'], {
      seccomp: 'unconfined',
    });
    // Without CAP_SYS_ADMIN the kernel refuses a network namespace, but grants a user namespace,
    // whose full capability set then makes the network namespace possible: the escalation the
    // built-in profile closes.
    expect(r.stdout.trim().split('\n')).toEqual([
      'keyctl ok',
      'unshare_net EPERM',
      'unshare_user ok',
      'unshare_net ok',
    ]);
    const status = await run(
      runConfig(fs(), ['grep', '^Seccomp:', '/proc/self/status'], {}, { seccomp: 'unconfined' }),
    );
    expect(status.stdout.replace(/\s+/g, ' ').trim()).toBe('Seccomp: 0');
  });

  it('busybox unshare -U and unshare -n fail with EPERM; shells, pipes, httpd and wget work', async () => {
    const r = await run(
      runConfig(fs(), [
        'sh',
        '-c',
        'unshare -U true; unshare -n true; ' +
          'mkdir -p /www && echo hello > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && ' +
          'wget -qO- http://127.0.0.1:8080/ && echo a b c | tr a-z A-Z && (sleep 0.1 & wait) && echo done',
      ]),
    );
    expect(r.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    expect(r.stderr).toMatch(/unshare\(0x40000000\): Operation not permitted/);
    expect(r.stdout.trim().split('\n')).toEqual(['hello', 'A B C', 'done']);
  });

  it("applies to exec'd processes too", async () => {
    const container: LaunchedProcess = await launchShim(runConfig(fs(), ['sleep', '60']), noCgroups);
    try {
      const p = await launchShim(
        {
          mode: 'exec',
          targetPid: container.pid,
          process: { args: ['/probe', 'keyctl', 'unshare_user', 'getpid'], env: ENV, uid: 0, gid: 0 },
        },
        noCgroups,
      );
      const [stdout, status] = await Promise.all([collect(p.stdout), p.exited]);
      expect(status.exitCode).toBe(0);
      expect(outcomes(stdout)).toEqual({ keyctl: 'EPERM', unshare_user: 'EPERM', getpid: 'ok' });
    } finally {
      process.kill(container.pid, 'SIGKILL');
      await container.exited;
    }
  });

  it('with CAP_SYS_ADMIN granted, namespaces and mount are allowed as Docker allows them', async () => {
    const r = await probe(['unshare_net', 'mount', 'keyctl'], { capAdd: ['SYS_ADMIN'] });
    expect(outcomes(r.stdout)).toEqual({ unshare_net: 'ok', mount: 'ok', keyctl: 'EPERM' });
  });

  it('applies a custom profile as written', async () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        // an argument condition: only unshare(CLONE_NEWUSER | …) is refused, with EINVAL
        {
          names: ['unshare'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 22,
          args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }],
        },
      ],
    };
    const r = await run(
      runConfig(
        fs(),
        ['sh', '-c', 'mkdir /x; /probe keyctl unshare_user unshare_net'],
        {},
        { seccomp: profile },
      ),
    );
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/x': Permission denied/);
    // unshare_net passes the filter and meets the kernel's capability check
    expect(outcomes(r.stdout)).toEqual({
      keyctl: 'ok',
      unshare_user: 'Invalid argument',
      unshare_net: 'EPERM',
    });
  });

  it('runs a host Node and Python program (read-only /usr) unaffected', async () => {
    const root = join(scratch, 'hostuser');
    for (const d of ['usr', 'proc', 'dev', 'sys', 'tmp', 'etc'])
      mkdirSync(join(root, d), { recursive: true });
    for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(root, l));
    copyFileSync('/etc/passwd', join(root, 'etc/passwd'));
    const usr = { type: 'bind' as const, source: '/usr', destination: '/usr', readonly: true };
    const node = await run(
      runConfig(
        { rootfs: root },
        [
          '/usr/bin/node',
          '-e',
          `const { execFileSync } = require('child_process');
           const { Worker } = require('worker_threads');
           const http = require('http');
           const w = new Worker('require("worker_threads").parentPort.postMessage(6*7)', { eval: true });
           w.on('message', (n) => {
             const s = http.createServer((q, r) => r.end('pong')).listen(0, '127.0.0.1', () => {
               http.get({ port: s.address().port, host: '127.0.0.1' }, (res) => {
                 res.on('data', (d) => {
                   console.log(n, String(d), execFileSync('/usr/bin/uname', ['-s']).toString().trim(),
                     require('crypto').createHash('sha256').update('x').digest('hex').slice(0, 8));
                   s.close(); w.terminate();
                 });
               });
             });
           });`,
        ],
        { mounts: [usr] },
      ),
    );
    expect(node.stderr).toBe('');
    expect(node.stdout.trim()).toBe('42 pong Linux 2d711642');

    const python = await run(
      runConfig(
        { rootfs: root },
        [
          '/usr/bin/python3',
          '-c',
          'import subprocess, threading, socket, os, multiprocessing as m\n' +
            'a, b = socket.socketpair(); a.send(b"hi")\n' +
            't = threading.Thread(target=lambda: None); t.start(); t.join()\n' +
            'with m.Pool(2) as p: s = sum(p.map(abs, [-1, -2]))\n' +
            'print(b.recv(2).decode(), s, subprocess.check_output(["/usr/bin/true"]) == b"", os.getpid())',
        ],
        { mounts: [usr] },
      ),
    );
    expect(python.stderr).toBe('');
    expect(python.stdout.trim()).toBe('hi 3 True 1');
  });
});
