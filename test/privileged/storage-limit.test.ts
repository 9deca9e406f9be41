import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importBusybox } from '../utils/containers';
import { DockerCli, dockerFails, dockerOk } from '../utils/docker-cli';
import { mountsUnder } from '../utils/data-dir';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const BB = 'busybox:1.35';

/** Bytes an unprivileged user may still write on the filesystem holding `dir`. */
const freeBytes = (dir: string) => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

/** `df -k <path>` inside a container: the filesystem's size in KiB. */
const dfTotalKiB = (out: string) => Number(out.trim().split('\n').pop()!.trim().split(/\s+/)[1]);

describe('writable-layer size limits (--storage-opt size=, a loop-mounted ext4 per container)', () => {
  let w: TestWarden | undefined;
  let docker: DockerCli;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-disk-'));
  const ok = (args: string[]) => dockerOk(docker, args);
  const containerDir = (id: string) => path.join(w!.dataDir, 'containers', id);
  const containerCount = async () => (await api(w!, 'GET', '/containers?all=true')).body.length as number;

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_DOCKER_SOCKET: path.join(sockDir, 'docker.sock') });
    await importBusybox(w);
    docker = new DockerCli(path.join(sockDir, 'docker.sock'));
  });
  afterAll(async () => {
    await w?.close();
    docker?.cleanup();
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  it('a write past the size gets ENOSPC, and the host loses at most the size', async () => {
    const before = freeBytes(w!.dataDir);
    const id = (
      await ok([
        'run',
        '-d',
        '--storage-opt',
        'size=64m',
        BB,
        'sh',
        '-c',
        'dd if=/dev/zero of=/fill bs=1M count=200 2>&1; echo rc=$?; sync; sleep 600',
      ])
    ).trim();
    const logs = await eventually(
      'the fill to end',
      async () => {
        const l = await ok(['logs', id]);
        return l.includes('rc=') && l;
      },
      60000,
    );
    expect(logs).toMatch(/No space left on device/);
    expect(logs).toMatch(/rc=1/);
    const used = before - freeBytes(w!.dataDir);
    const written = Number(/(\d+)\+\d+ records out/.exec(logs)![1]) * MiB;
    console.log(
      `storage: 200 MiB asked under size=64m: dd wrote ${written / MiB} MiB, host free space moved ${(used / MiB).toFixed(1)} MiB`,
    );
    // Most of the 64 MiB holds the file (the check could fail: the data really landed), and the
    // host lost no more than the size (other tests on this host write too: a little slack).
    expect(written).toBeGreaterThan(40 * MiB);
    expect(written).toBeLessThanOrEqual(64 * MiB);
    expect(used).toBeLessThan(64 * MiB + 8 * MiB);

    const inspect = JSON.parse(await ok(['inspect', id]))[0];
    expect(inspect.HostConfig.StorageOpt).toEqual({ size: String(64 * MiB) });
    const layer = path.join(containerDir(id), 'layer');
    expect(mountsUnder(containerDir(id))).toEqual([layer]);

    await ok(['rm', '-f', id]);
    expect(mountsUnder(containerDir(id))).toEqual([]);
    expect(fs.existsSync(containerDir(id))).toBe(false);
    // The image's loop device is let go with the mount (autoclear): none holds a deleted file of it.
    const loops = execFileSync('losetup', ['-a'], { encoding: 'utf8' });
    expect(loops).not.toContain(id);
  });

  it('hands a removed container’s filesystem, emptied, to the next create of its size', async () => {
    const size = 96 * MiB; // a size no other test here uses: its pool is this test's
    const pool = path.join(w!.dataDir, 'layer-pool');
    const idle = () => mountsUnder(pool).filter((m) => fs.statSync(`${m}.ext4`).size === size).length;
    const a = (
      await ok(['create', '--storage-opt', 'size=96m', BB, 'sh', '-c', 'echo secret-a > /s; mkdir -p /d/e'])
    ).trim();
    await ok(['start', '-a', a]);
    const image = fs.statSync(path.join(containerDir(a), 'layer.ext4'));
    await eventually('the background fill after the miss', async () => idle() === 1, 20000);
    await ok(['rm', a]);
    expect(fs.existsSync(containerDir(a))).toBe(false);
    expect(idle()).toBe(2);

    const b = (
      await ok(['create', '--storage-opt', 'size=96m', BB, 'sh', '-c', 'ls -A /; cat /s; df -k /'])
    ).trim();
    expect(idle()).toBe(1);
    // The same filesystem (its image's inode), mounted where a fresh one would be, as one would be.
    expect(fs.statSync(path.join(containerDir(b), 'layer.ext4')).ino).toBe(image.ino);
    const layer = path.join(containerDir(b), 'layer');
    expect(mountsUnder(containerDir(b))).toEqual([layer]);
    const line = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === layer)!;
    expect(line.split(' ')[5]).toMatch(/nosuid.*nodev|nodev.*nosuid/);
    const r = await docker.run(['start', '-a', b]);
    expect(r.stdout + r.stderr).toMatch(/cat: can't open '\/s': No such file/);
    expect(r.stdout).not.toMatch(/secret-a|^d$/m);
    expect(dfTotalKiB(r.stdout) * 1024).toBeGreaterThan(80 * MiB);
    expect(dfTotalKiB(r.stdout) * 1024).toBeLessThanOrEqual(size);
    await ok(['rm', b]);
  });

  it('gives every container the baseline default of 10 GiB', async () => {
    const out = await ok(['run', '--rm', BB, 'df', '-k', '/']);
    const kib = dfTotalKiB(out);
    // ext4's own metadata takes a little of the 10 GiB.
    expect(kib * 1024).toBeGreaterThan(9.5 * GiB);
    expect(kib * 1024).toBeLessThanOrEqual(10 * GiB);
    const id = (await ok(['create', BB, 'true'])).trim();
    expect(JSON.parse(await ok(['inspect', id]))[0].HostConfig.StorageOpt).toEqual({
      size: String(10 * GiB),
    });
    // Sparse: a fresh 10 GiB layer takes a few MiB of the host's disk.
    const image = path.join(containerDir(id), 'layer.ext4');
    const onDisk = fs.statSync(image).blocks * 512;
    expect(onDisk).toBeLessThan(16 * MiB);
    await ok(['rm', id]);
  });

  it('refuses sizes it cannot make and storage options it does not have, creating nothing', async () => {
    const count = await containerCount();
    expect(await dockerFails(docker, ['run', '--rm', '--storage-opt', 'size=1m', BB, 'true'])).toMatch(
      /storageSize: 1m is below the minimum 64m/,
    );
    expect(
      await dockerFails(docker, ['run', '--rm', '--storage-opt', 'dm.basesize=20g', BB, 'true']),
    ).toMatch(/--storage-opt dm.basesize is not supported by Warden: only size=/);
    const rest = await api(w!, 'POST', '/containers', { body: { image: BB, storageSize: 'lots' } });
    expect(rest.status).toBe(400);
    expect(JSON.stringify(rest.body)).toMatch(/storageSize/);
    expect(await containerCount()).toBe(count);
  });

  it('a policy caps the layer and tmpfs sizes and fills in their defaults', async () => {
    const doc = {
      name: 'disk-caps',
      mode: 'enforce',
      rules: {
        resources: { storage: { max: '128m', default: '96m' }, tmpfs: { max: '32m', default: '16m' } },
      },
    };
    const created = await api(w!, 'POST', '/policies', { body: doc });
    expect(created.status).toBe(201);
    await api(w!, 'POST', '/policies/disk-caps/activate', { body: { versionId: created.body.id } });
    await api(w!, 'POST', '/policies/disk-caps/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });
    try {
      const count = await containerCount();
      expect(await dockerFails(docker, ['run', '--rm', '--storage-opt', 'size=1g', BB, 'true'])).toMatch(
        /writable layer size 1g exceeds cap 128m \(policy disk-caps, rule resources.storage.max\)/,
      );
      expect(await dockerFails(docker, ['run', '--rm', '--tmpfs', '/t:size=64m', BB, 'true'])).toMatch(
        /tmpfs \/t size 64m exceeds cap 32m/,
      );
      expect(await containerCount()).toBe(count);

      const out = await ok(['run', '--rm', '--tmpfs', '/t', BB, 'sh', '-c', 'df -k /t; df -k /']);
      const [tmpfs, root] = out
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('Filesystem'))
        .map((l) => Number(l.trim().split(/\s+/)[1]));
      expect(tmpfs).toBe(16 * 1024);
      expect(root * 1024).toBeGreaterThan(80 * MiB);
      expect(root * 1024).toBeLessThanOrEqual(96 * MiB);
    } finally {
      const unbound = await api(
        w!,
        'DELETE',
        '/policies/disk-caps/bindings?kind=principal&value=docker-root',
      );
      expect(unbound.status).toBe(200);
    }
  });

  it('counts tmpfs pages against the memory cap, as the kernel does', async () => {
    // 64 MiB into a tmpfs under a 32 MiB cap: the pages are the container's memory.
    const r = await docker.run([
      'run',
      '--name',
      'tmpfs-oom',
      '--memory',
      '32m',
      '--tmpfs',
      '/t:size=128m',
      BB,
      'dd',
      'if=/dev/zero',
      'of=/t/fill',
      'bs=1M',
      'count=64',
    ]);
    expect(r.stderr).not.toMatch(/Error response from daemon/);
    const state = JSON.parse(await ok(['inspect', 'tmpfs-oom']))[0].State;
    console.log(
      `storage: 64 MiB into tmpfs under --memory 32m: exit ${r.code}, OOMKilled ${state.OOMKilled}`,
    );
    expect(r.code).not.toBe(0);
    expect(state.OOMKilled).toBe(true);
    await ok(['rm', 'tmpfs-oom']);
  });

  it('mounts a stopped container’s layer again after it was lost (a reboot), for cp and start', async () => {
    const id = (
      await ok(['run', '-d', '--storage-opt', 'size=64m', BB, 'sh', '-c', 'echo kept > /kept; sleep 600'])
    ).trim();
    await eventually(
      'the file to be written',
      async () => (await ok(['exec', id, 'cat', '/kept'])) === 'kept\n',
      20000,
    );
    await ok(['stop', '-t', '1', id]);
    // What a reboot does to it: the host mount is gone, the image file stays.
    execFileSync('umount', [path.join(containerDir(id), 'layer')]);
    expect(mountsUnder(containerDir(id))).toEqual([]);
    const tar = await docker.run(['cp', `${id}:/kept`, '-']);
    expect(tar.code).toBe(0);
    expect(tar.stdout).toContain('kept\n');
    await ok(['start', id]);
    expect(await ok(['exec', id, 'cat', '/kept'])).toBe('kept\n');
    await ok(['rm', '-f', id]);
  });

  it('a clean stop unmounts the layers of containers that are not running', async () => {
    const stopped = (await ok(['create', '--storage-opt', 'size=64m', BB, 'true'])).trim();
    await ok(['run', '-d', '--storage-opt', 'size=64m', BB, 'sleep', '600']);
    expect(mountsUnder(containerDir(stopped))).toHaveLength(1);
    // Live restore is off for test Wardens: the running one is killed at the stop too.
    await w!.stop();
    expect(mountsUnder(w!.dataDir)).toEqual([]);
    // The images stay: the next start mounts them again.
    expect(fs.existsSync(path.join(containerDir(stopped), 'layer.ext4'))).toBe(true);
  });
});
