/*
 * Prepared starts against the real kernel (root only): the shim sets the container up to its
 * last step before execve, reports READY and runs nothing until go(); an abort, a failed
 * setup and a failed execve each leave no process, shim or mount behind.
 */
import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { prepareShim, ShimError } from '../../src/runtime/shim/launch-shim';
import { buildBusyboxRootfs } from '../fixtures/rootfs/busybox-rootfs';
import {
  buildShim,
  collect,
  hostMountsUnder,
  isRoot,
  makeTmp,
  noCgroups,
  processesRootedUnder,
  rootfsConfig,
  runConfig,
  shimChildren,
} from '../fixtures/rootfs/shim-harness';
import { processAlive } from '../utils/processes';

const describeRoot = isRoot ? describe : describe.skip;

let scratch: string;
let busybox: string;

beforeAll(() => {
  if (!isRoot) return;
  buildShim();
  scratch = makeTmp('warden-shim-prepare-');
  busybox = buildBusyboxRootfs(join(scratch, 'busybox'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Aborts what a failed test left prepared, so one failure does not cascade. */
let afterThis: (() => Promise<void>) | undefined;
afterEach(async () => {
  await afterThis?.();
  afterThis = undefined;
});

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

describeRoot('prepared start', () => {
  it('is set up in its own namespaces and rootfs, and runs nothing until go', async () => {
    const fs = rootfsConfig('overlay', busybox, scratch);
    const marker = join(fs.overlay!.upperdir, 'ran');
    const cfg = runConfig(fs, ['sh', '-c', 'touch /ran; echo out; echo err >&2; exit 7']);
    const prepared = await prepareShim(cfg, noCgroups);
    afterThis = () => prepared.abort();

    // Waiting before execve: still the shim's image, already inside the container.
    expect(comm(prepared.pid)).toBe('warden-shim');
    expect(readlinkSync(`/proc/${prepared.pid}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));
    expect(readlinkSync(`/proc/${prepared.pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(existsSync(marker)).toBe(false);

    const p = await prepared.go();
    expect(p.pid).toBe(prepared.pid);
    const [stdout, stderr, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
    expect({ stdout, stderr, ...status }).toEqual({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 7,
      signal: null,
    });
    expect(existsSync(marker)).toBe(true);
    await prepared.gone;
    expect(shimChildren()).toEqual([]);
    expect(hostMountsUnder(scratch)).toEqual([]);
  });

  it('abort kills the waiting process and its shim, and nothing ran', async () => {
    const fs = rootfsConfig('overlay', busybox, scratch);
    const cfg = runConfig(fs, ['touch', '/ran']);
    const prepared = await prepareShim(cfg, noCgroups);
    expect(processAlive(prepared.pid)).toBe(true);
    await prepared.abort();
    expect(processAlive(prepared.pid)).toBe(false);
    expect(processAlive(prepared.shimPid)).toBe(false);
    expect(existsSync(join(fs.overlay!.upperdir, 'ran'))).toBe(false);
    expect(processesRootedUnder(cfg.rootfs)).toEqual([]);
    expect(shimChildren()).toEqual([]);
    // A go after the abort answers the abort, not a start.
    await expect(prepared.go()).rejects.toMatchObject({ name: 'ShimError', code: 'ECANCELED' });
  });

  it('rejects a failed setup naming the step, with nothing left running', async () => {
    const fs = rootfsConfig('overlay', join(scratch, 'does-not-exist'), scratch);
    const err = await prepareShim(runConfig(fs, ['/bin/true']), noCgroups).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShimError);
    expect(err).toMatchObject({ step: 'mount overlay', code: 'ENOENT' });
    expect(processesRootedUnder(fs.rootfs)).toEqual([]);
    expect(hostMountsUnder(scratch)).toEqual([]);
    expect(shimChildren()).toEqual([]);
  });

  it('reports a command that cannot exec at go, as an unprepared launch does', async () => {
    const fs = rootfsConfig('plain', busybox, scratch);
    const prepared = await prepareShim(runConfig(fs, ['no-such-command']), noCgroups);
    const err = await prepared.go().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ShimError', step: 'exec no-such-command', code: 'ENOENT' });
    await prepared.gone;
    expect(processAlive(prepared.pid)).toBe(false);
    expect(shimChildren()).toEqual([]);
  });

  it('places the process in its cgroups before it is set up when the service does it (v2 style)', async () => {
    const fs = rootfsConfig('plain', busybox, scratch);
    const placed: number[] = [];
    const prepared = await prepareShim(runConfig(fs, ['/bin/true']), {
      placeInCgroups: async (pid) => void placed.push(pid),
    });
    expect(placed).toEqual([prepared.pid]);
    const p = await prepared.go();
    await expect(p.exited).resolves.toEqual({ exitCode: 0, signal: null });
    await prepared.gone;
  });
});
