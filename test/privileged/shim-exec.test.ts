/*
 * `docker exec` through the shim (root only): join a running container's namespaces,
 * get the same capability set and no_new_privs, relay the exit status.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchShim, ShimError, type LaunchedProcess } from '../../src/runtime/shim/launch-shim';
import type { ShimExecConfig, ShimProcessSpec } from '../../src/runtime/shim/shim-protocol';
import { buildBusyboxRootfs } from '../fixtures/rootfs/busybox-rootfs';
import {
  buildShim,
  collect,
  ENV,
  HOSTNAME,
  isRoot,
  makeTmp,
  noCgroups,
  rootfsConfig,
  runConfig,
  shimChildren,
} from '../fixtures/rootfs/shim-harness';

if (!isRoot)
  console.warn('shim exec tests skipped: they need root (namespaces, mounts); CI runs them as root');
const describeRoot = isRoot ? describe : describe.skip;

describeRoot('shim exec mode', () => {
  let scratch: string;
  let container: LaunchedProcess;

  const execConfig = (args: string[], proc: Partial<ShimProcessSpec> = {}): ShimExecConfig => ({
    mode: 'exec',
    targetPid: container.pid,
    process: { args, env: ENV, uid: 0, gid: 0, ...proc },
  });

  async function exec(args: string[], proc: Partial<ShimProcessSpec> = {}) {
    const p = await launchShim(execConfig(args, proc), noCgroups);
    const [stdout, stderr, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
    return { ...status, stdout, stderr };
  }

  beforeAll(async () => {
    buildShim();
    scratch = makeTmp('warden-shim-exec-');
    const busybox = buildBusyboxRootfs(join(scratch, 'busybox'));
    container = await launchShim(
      runConfig(rootfsConfig('overlay', busybox, scratch), ['sleep', '600']),
      noCgroups,
    );
  });

  afterAll(async () => {
    if (container) {
      process.kill(container.pid, 'SIGKILL');
      await container.exited;
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("joins the container's namespaces with the default caps and no_new_privs", async () => {
    const r = await exec([
      'sh',
      '-c',
      'hostname; ps -o pid,args; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; ls /sys/class/net',
    ]);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim());
    expect(lines[0]).toBe(HOSTNAME);
    expect(lines).toContain('1 sleep 600');
    expect(lines).toEqual(
      expect.arrayContaining([
        'CapEff:\t00000000a80425fb',
        'CapBnd:\t00000000a80425fb',
        'NoNewPrivs:\t1',
        'lo',
      ]),
    );
    // only the container's processes: PID 1, the exec'd sh and ps
    const pids = lines.filter((l) => /^\d+ /.test(l)).map((l) => Number(l.split(' ')[0]));
    expect(pids.length).toBe(3);
  });

  it('relays the exit status', async () => {
    await expect(exec(['sh', '-c', 'exit 5'])).resolves.toMatchObject({ exitCode: 5, signal: null });
  });

  it('runs as the requested user', async () => {
    const r = await exec(['id', '-u'], { uid: 65534, gid: 65534 });
    expect(r.stdout.trim()).toBe('65534');
  });

  it('rejects a missing command with a typed error and leaves nothing behind', async () => {
    const err = await launchShim(execConfig(['no-such-command']), noCgroups).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShimError);
    expect(err).toMatchObject({ step: 'exec no-such-command', code: 'ENOENT' });
    const ps = await exec(['ps', '-o', 'pid,args']);
    expect(ps.stdout.trim().split('\n').length).toBe(3); // header, sleep, ps
    expect(shimChildren()).toEqual([container.shimPid]);
  });

  it('rejects a target that does not exist', async () => {
    const err = await launchShim({ ...execConfig(['true']), targetPid: 0x3ffffff0 }, noCgroups).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'ShimError', step: `pidfd_open ${0x3ffffff0}`, code: 'ESRCH' });
  });

  it('dies with the container', async () => {
    const scratch2 = makeTmp('warden-shim-exec2-');
    try {
      const busybox = buildBusyboxRootfs(join(scratch2, 'busybox'));
      const target = await launchShim(runConfig({ rootfs: busybox }, ['sleep', '600']), noCgroups);
      const p = await launchShim({ ...execConfig(['sleep', '600']), targetPid: target.pid }, noCgroups);
      process.kill(target.pid, 'SIGKILL');
      await expect(target.exited).resolves.toEqual({ exitCode: 137, signal: 'SIGKILL' });
      // the kernel kills every process of a pid namespace whose init died
      await expect(p.exited).resolves.toEqual({ exitCode: 137, signal: 'SIGKILL' });
    } finally {
      rmSync(scratch2, { recursive: true, force: true });
    }
  });
});
