import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskHolding } from '../../src/runtime/cgroups';
import { importBusybox } from '../utils/containers';
import { DockerCli, socketRequest } from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

const MiB = 1024 * 1024;
const BB = 'busybox:1.35';

/** /dev/<name> of the disk holding `dir`, found through sysfs as udev names it. */
function diskPathOf(dir: string): string {
  const disk = diskHolding(dir);
  if (!disk) throw new Error(`${dir} is on no block device: the block I/O tests need one`);
  const uevent = fs.readFileSync(`/sys/dev/block/${disk.major}:${disk.minor}/uevent`, 'utf8');
  return `/dev/${/^DEVNAME=(.+)$/m.exec(uevent)![1]}`;
}

describe('block I/O limits with the real docker CLI (cgroup blkio/io)', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let disk: string;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-io-'));

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_DOCKER_SOCKET: path.join(sockDir, 'docker.sock') });
    await importBusybox(w);
    docker = new DockerCli(path.join(sockDir, 'docker.sock'));
    // The container's writable layer is under the data dir: its writes land on this disk.
    disk = diskPathOf(w.dataDir);
  });
  afterAll(async () => {
    await w?.close();
    docker?.cleanup();
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  /** Seconds a direct 2 MiB write takes inside a container run with `flags` (busybox `time`). */
  async function timedWrite(flags: string[]): Promise<number> {
    const r = await docker.run(
      [
        'run',
        '--rm',
        ...flags,
        BB,
        'time',
        'dd',
        'if=/dev/zero',
        'of=/f',
        'bs=64k',
        'count=32',
        'oflag=direct',
      ],
      { timeoutMs: 60000 },
    );
    if (r.code !== 0) throw new Error(`docker run ${flags.join(' ')} → ${r.code}: ${r.stderr}`);
    const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
    if (!m) throw new Error(`no timing in: ${r.stderr}`);
    return Number(m[1]) * 60 + Number(m[2]);
  }

  it('holds a direct write under --device-write-bps near the rate asked for', async () => {
    const free = await timedWrite([]);
    const capped = await timedWrite(['--device-write-bps', `${disk}:1mb`]);
    const rate = (2 * MiB) / capped;
    console.log(
      `block I/O: 2 MiB O_DIRECT write, unthrottled ${free.toFixed(2)} s, --device-write-bps ${disk}:1mb ${capped.toFixed(2)} s (${(rate / MiB).toFixed(2)} MiB/s)`,
    );
    // dd's own time: at 1 MiB/s the 2 MiB take ~2 s (blk-throttle lets the first slice through).
    expect(rate).toBeGreaterThan(0.8 * MiB);
    expect(rate).toBeLessThan(1.2 * MiB);
    expect(free).toBeLessThan(capped / 2);
  });

  it('shows the throttles in inspect, and the I/O a container did in its stats', async () => {
    const id = (
      await docker.run([
        'run',
        '-d',
        '--device-write-bps',
        `${disk}:8mb`,
        '--device-read-iops',
        `${disk}:1000`,
        BB,
        'sh',
        '-c',
        'dd if=/dev/zero of=/f bs=64k count=16 oflag=direct && sleep 60',
      ])
    ).stdout.trim();
    try {
      const [info] = JSON.parse((await docker.run(['inspect', id])).stdout);
      expect(info.HostConfig.BlkioDeviceWriteBps).toEqual([{ Path: disk, Rate: 8 * MiB }]);
      expect(info.HostConfig.BlkioDeviceReadIOps).toEqual([{ Path: disk, Rate: 1000 }]);
      expect(info.HostConfig.BlkioDeviceReadBps).toEqual([]);
      await eventually('the write counted in blkio_stats', async () => {
        const r = await socketRequest(docker.socket, 'GET', `/containers/${id}/stats?stream=false`);
        const written = (JSON.parse(r.body).blkio_stats.io_service_bytes_recursive ?? [])
          .filter((e: { op: string }) => e.op === 'write')
          .reduce((n: number, e: { value: number }) => n + e.value, 0);
        return written >= MiB;
      });
      const table = (
        await docker.run(['stats', '--no-stream', '--format', '{{.BlockIO}}', id])
      ).stdout.trim();
      expect(table).toMatch(/ \/ [1-9][\d.]*MB$/);
    } finally {
      await docker.run(['rm', '-f', id]);
    }
    // The run's final usage record carries its block I/O (showback and reports read these).
    await eventually('the final usage record with the write', async () => {
      const r = await api(w, 'GET', `/containers/${id}/usage`);
      return r.body.final?.ioWriteBytes >= MiB && r.body.final.ioWriteOps > 0;
    });
  });

  it('refuses a device that is not a block device, and a rate of nothing, saying which', async () => {
    const chr = await docker.run(['run', '--rm', '--device-write-bps', '/dev/null:1mb', BB, 'true']);
    expect(chr.code).not.toBe(0);
    expect(chr.stderr).toContain('/dev/null is not a block device');
    const missing = await docker.run([
      'run',
      '--rm',
      '--device-read-bps',
      '/dev/warden-none:1mb',
      BB,
      'true',
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('/dev/warden-none: no such device on this host');
    const weight = await docker.run(['create', '--blkio-weight', '5', BB, 'true']);
    expect(weight.code).not.toBe(0);
    expect(weight.stderr).toContain('BlkioWeight');
    // The --rm runs that could not start were removed, as Docker removes them.
    expect((await docker.run(['ps', '-aq'])).stdout.trim()).toBe('');
  });
});
