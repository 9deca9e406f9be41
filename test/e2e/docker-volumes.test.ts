import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerSave } from '../fixtures/images/archives';
import { busyboxLayerTar } from '../fixtures/images/fixture-images';
import { buildImage, tarOf } from '../fixtures/images/oci-image';
import { ADMIN_TOKEN, api, TestWarden } from '../utils/warden';
import {
  DOCKER_BIN,
  DockerCli,
  startDockerWarden,
  dockerFails,
  dockerOk,
  hasDockerCli,
} from '../utils/docker-cli';

const isRoot = process.getuid?.() === 0;
const ready = isRoot && hasDockerCli();
const suite = ready || process.env.CI ? describe : describe.skip;
if (!ready)
  console.warn(
    `docker volumes e2e ${process.env.CI ? 'will fail' : 'skipped'}: needs root and ${DOCKER_BIN}`,
  );

const BB = 'busybox:1.35';
const VOL_IMAGE = 'voltest:1';

/** busybox plus /srv/data (1000:1000, 0750) holding hello (0640), declared `VOLUME /srv/data`. */
async function volumeImage(): Promise<Buffer> {
  const data = await tarOf([
    { name: 'srv/', type: 'directory' },
    { name: 'srv/data/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { name: 'srv/data/hello', content: 'from the image\n', mode: 0o640, uid: 1000, gid: 1000 },
  ]);
  const image = buildImage({ cmd: ['sh'], layers: [await busyboxLayerTar(), data], volumes: ['/srv/data'] });
  return dockerSave(image, [VOL_IMAGE]);
}

suite('volumes through the real docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, close } = await startDockerWarden(`volumes-test-${process.pid}`));
    const r = await fetch(`${w.url}/images/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-tar' },
      body: await volumeImage(),
    });
    expect(r.status).toBe(201);
  });
  afterAll(() => close?.());

  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const names = async (...filters: string[]) =>
    (await ok(['volume', 'ls', '-q', ...filters.flatMap((f) => ['-f', f])])).split('\n').filter(Boolean);

  it('creates, lists with filters, inspects and removes a volume; data outlives containers', async () => {
    expect((await ok(['volume', 'create', '--label', 'team=a', 'v1'])).trim()).toBe('v1');
    await ok(['volume', 'create', 'v2']);
    const [v1] = JSON.parse(await ok(['volume', 'inspect', 'v1']));
    expect(v1).toMatchObject({ Name: 'v1', Driver: 'local', Scope: 'local', Labels: { team: 'a' } });
    expect(v1.Mountpoint).toBe(path.join(w.dataDir, 'volumes', 'v1', '_data'));
    expect(await names('label=team=a')).toEqual(['v1']);
    expect(await names('name=v')).toEqual(['v1', 'v2']);
    expect(await names('dangling=true')).toEqual(['v1', 'v2']);

    await ok(['run', '--rm', '-v', 'v1:/data', BB, 'sh', '-c', 'echo kept > /data/f']);
    expect(await ok(['run', '--rm', '-v', 'v1:/data:ro', BB, 'cat', '/data/f'])).toBe('kept\n');
    expect(await fails(['run', '--rm', '-v', 'v1:/data:ro', BB, 'touch', '/data/g'])).toMatch(/Read-only/);

    // In use by a container (even a stopped one): 409, with or without --force.
    await ok(['create', '--name', 'holder', '-v', 'v1:/data', BB, 'true']);
    expect(await names('dangling=false')).toEqual(['v1']);
    expect(await fails(['volume', 'rm', 'v1'])).toMatch(/remove v1: volume is in use - \[[0-9a-f]{64}\]/);
    expect(await fails(['volume', 'rm', '-f', 'v1'])).toMatch(/volume is in use/);
    await ok(['rm', 'holder']);
    await ok(['volume', 'rm', 'v1', 'v2']);
    expect(await fails(['volume', 'inspect', 'v1'])).toMatch(/no such volume/);
    expect(fs.existsSync(v1.Mountpoint)).toBe(false);
    // `docker run -v name:` makes a missing volume, as Docker does.
    await ok(['run', '--rm', '-v', 'made:/m', BB, 'true']);
    expect(await names('name=made')).toEqual(['made']);
    await ok(['volume', 'rm', 'made']);

    const events = (await api(w, 'GET', '/audit/events?limit=500')).body.events as Array<{
      type: string;
      subject: string;
    }>;
    const ofV1 = events.filter((e) => e.subject === 'v1').map((e) => e.type);
    expect(ofV1).toEqual(expect.arrayContaining(['volume.created', 'volume.mounted', 'volume.removed']));
  });

  it("copies the image's VOLUME content into a new anonymous volume, owners and modes kept; rm -v removes it", async () => {
    const out = await ok([
      'run',
      '--name',
      'anon',
      VOL_IMAGE,
      'sh',
      '-c',
      'ls -lnd /srv/data /srv/data/hello; cat /srv/data/hello',
    ]);
    expect(out).toMatch(/^drwxr-x---\s+\d+ 1000\s+1000 .* \/srv\/data$/m);
    expect(out).toMatch(/^-rw-r-----\s+1 1000\s+1000 .* \/srv\/data\/hello$/m);
    expect(out).toContain('from the image');
    const [c] = JSON.parse(await ok(['inspect', 'anon']));
    expect(c.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Destination: '/srv/data', RW: true }),
    ]);
    const anon = c.Mounts[0].Name as string;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(await ok(['volume', 'inspect', anon]))[0].Labels).toEqual({
      'com.docker.volume.anonymous': '',
    });
    await ok(['rm', '-v', 'anon']);
    expect(await names(`name=${anon}`)).toEqual([]);

    // --rm takes the anonymous volume too; nocopy leaves a new volume empty.
    await ok(['run', '--rm', VOL_IMAGE, 'true']);
    expect(await names('dangling=true')).toEqual([]);
    expect(
      await ok([
        'run',
        '--rm',
        '--mount',
        'type=volume,src=empty,dst=/srv/data,volume-nocopy',
        VOL_IMAGE,
        'ls',
        '-A',
        '/srv/data',
      ]),
    ).toBe('');
    await ok(['volume', 'rm', 'empty']);
  });

  it('--volumes-from mounts the same volumes (ro when asked) and --mount type=volume works', async () => {
    await ok(['create', '--name', 'src', '--mount', 'type=volume,src=shared,dst=/shared', BB, 'true']);
    await ok(['run', '--rm', '--volumes-from', 'src', BB, 'sh', '-c', 'echo via > /shared/x']);
    expect(await ok(['run', '--rm', '--volumes-from', 'src:ro', BB, 'cat', '/shared/x'])).toBe('via\n');
    expect(await fails(['run', '--rm', '--volumes-from', 'src:ro', BB, 'touch', '/shared/y'])).toMatch(
      /Read-only/,
    );
    expect(await fails(['run', '--rm', '--volumes-from', 'nope', BB, 'true'])).toMatch(
      /No such container: nope/,
    );
    await ok(['rm', 'src']);
    await ok(['volume', 'rm', 'shared']);
  });

  it('prunes anonymous unused volumes only, and named ones with --all', async () => {
    await ok(['volume', 'create', 'named']);
    await ok(['create', '--name', 'keep', VOL_IMAGE, 'true']);
    await ok(['create', '--name', 'drop', VOL_IMAGE, 'true']);
    const [drop] = JSON.parse(await ok(['inspect', 'drop']));
    await ok(['rm', 'drop']); // without -v its anonymous volume stays, unused
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toContain(drop.Mounts[0].Name);
    expect(await names('name=named')).toEqual(['named']);
    expect(await ok(['volume', 'prune', '-f', '--all'])).toContain('named');
    expect(await names('name=named')).toEqual([]);
    await ok(['rm', '-v', 'keep']);
  });

  it('a sized volume is its own filesystem: a write past the size gets ENOSPC', async () => {
    await ok(['volume', 'create', '--opt', 'size=16m', 'small']);
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'small']));
    expect(v.Options).toEqual({ size: '16m' });
    const r = await docker.run([
      'run',
      '--rm',
      '-v',
      'small:/d',
      BB,
      'sh',
      '-c',
      'dd if=/dev/zero of=/d/big bs=1M count=32 2>&1; echo rc=$?; ls -A /d',
    ]);
    await ok(['volume', 'rm', 'small']); // its loop mount goes with it
    expect(r.stdout).toMatch(/No space left on device/);
    expect(r.stdout).toMatch(/rc=1/);
  });

  it('policy: other drivers and options that reach the host are refused (403, rule named)', async () => {
    expect(await fails(['volume', 'create', '-d', 'nfs', 'x1'])).toMatch(
      /volume driver nfs is not allowed .*rule volumes\.allowedDrivers/,
    );
    expect(
      await fails([
        'volume',
        'create',
        '--opt',
        'type=none',
        '--opt',
        'o=bind',
        '--opt',
        'device=/etc',
        'x2',
      ]),
    ).toMatch(/volume option device is not allowed .*rule volumes\.allowedOptions/);
    expect(await fails(['volume', 'create', '--opt', 'size=lots', 'x3'])).toMatch(
      /options\.size: "lots" is not a size/,
    );
    expect(await fails(['volume', 'create', 'bad/name'])).toMatch(/./);
    expect(await names()).toEqual([]);
  });
});
