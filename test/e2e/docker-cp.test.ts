import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  DOCKER_BIN,
  DockerCli,
  startDockerWarden,
  dockerOk,
  hasDockerCli,
  socketRequest,
} from '../utils/docker-cli';
import { api, TestWarden } from '../utils/warden';

const isRoot = process.getuid?.() === 0;
const ready = isRoot && hasDockerCli();
const suite = ready || process.env.CI ? describe : describe.skip;
if (!ready)
  console.warn(`docker cp e2e ${process.env.CI ? 'will fail' : 'skipped'}: needs root and ${DOCKER_BIN}`);

const BB = 'busybox:1.35';

suite('files in and out: docker cp, export, diff', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let tmp: string;
  let socket: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, tmp, socket, close } = await startDockerWarden(`volumes-cp-${process.pid}`));
  });
  afterAll(() => close?.());

  const ok = (args: string[]) => dockerOk(docker, args);

  it.each(['running', 'stopped'])('copies both ways on a %s container', async (state) => {
    const name = `cp-${state}`;
    await ok([
      'run',
      '-d',
      '--name',
      name,
      BB,
      'sh',
      '-c',
      'mkdir -p /srv/app; echo inside > /srv/app/f; sleep 300',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    if (state === 'stopped') await ok(['stop', '-t', '0', name]);
    const src = path.join(tmp, `${state}-src`);
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub', 'hello'), 'from the host\n', { mode: 0o640 });
    await ok(['cp', src, `${name}:/srv/in`]);
    await ok(['cp', path.join(src, 'sub', 'hello'), `${name}:/srv/app/renamed`]);

    const out = path.join(tmp, `${state}-out`);
    await ok(['cp', `${name}:/srv`, out]);
    expect(fs.readFileSync(path.join(out, 'app', 'f'), 'utf8')).toBe('inside\n');
    expect(fs.readFileSync(path.join(out, 'in', 'sub', 'hello'), 'utf8')).toBe('from the host\n');
    expect(fs.statSync(path.join(out, 'in', 'sub', 'hello')).mode & 0o777).toBe(0o640);
    expect(fs.readFileSync(path.join(out, 'app', 'renamed'), 'utf8')).toBe('from the host\n');

    const head = await socketRequest(socket, 'HEAD', `/containers/${name}/archive?path=/srv/app`);
    expect(head.status).toBe(200);
    const stat = JSON.parse(
      Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString(),
    );
    expect(stat).toMatchObject({ name: 'app', linkTarget: '' });
    expect(stat.mode).toBe(2 ** 31 + 0o755);
    const missing = await socketRequest(socket, 'GET', `/containers/${name}/archive?path=/nope`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).message).toBe(`Could not find the file /nope in container ${name}`);

    const events = (await api(w, 'GET', '/audit/events?type=container.files.copied&limit=100')).body.events;
    const mine = events.filter((e: { payload: { name: string } }) => e.payload.name === name);
    expect(mine).toHaveLength(2);
    expect(mine[0].payload.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await ok(['rm', '-f', name]);
  });

  it('keeps paths and symlinks inside the container (CVE-2018-15664)', async () => {
    await ok(['create', '--name', 'links', BB, 'sh']);
    // Links made by the image's owner: one to /, one climbing out with ../../.
    const up = path.join(tmp, 'links');
    fs.mkdirSync(up);
    fs.symlinkSync('/', path.join(up, 'to-root'));
    fs.symlinkSync('../../../../../..', path.join(up, 'climb'));
    await ok(['cp', up, 'links:/']);
    // Into a link to /: lands in the container's /, never the host's.
    const marker = `warden-cve-${process.pid}`;
    fs.writeFileSync(path.join(tmp, marker), 'x');
    await ok(['cp', path.join(tmp, marker), 'links:/links/to-root/tmp/']);
    await ok(['cp', path.join(tmp, marker), 'links:/links/climb/tmp/']);
    expect(fs.existsSync(path.join('/tmp', marker))).toBe(false);
    const back = path.join(tmp, 'back');
    await ok(['cp', `links:/links/climb/tmp/${marker}`, back]);
    expect(fs.readFileSync(back, 'utf8')).toBe('x');
    // Reading through the link gets the container's /etc/passwd, not the host's.
    const pw = path.join(tmp, 'pw');
    await ok(['cp', 'links:/links/climb/etc/passwd', pw]);
    expect(fs.readFileSync(pw, 'utf8')).toBe(await ok(['run', '--rm', BB, 'cat', '/etc/passwd']));

    // A tar whose entry climbs out of the destination is refused whole.
    const evil = path.join(tmp, 'evil.tar');
    execFileSync('tar', ['-cf', evil, '-C', tmp, '--transform', 's,^,../../,', marker]);
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          socketPath: socket,
          method: 'PUT',
          path: '/containers/links/archive?path=/tmp',
          headers: { host: 'd', 'content-type': 'application/x-tar' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(fs.readFileSync(evil));
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toMatch(/would land outside the destination/);
    await ok(['rm', 'links']);
  });

  it('export and diff', async () => {
    await ok([
      'run',
      '--name',
      'changed',
      BB,
      'sh',
      '-c',
      'echo n > /new; rm /etc/group; echo m >> /etc/passwd',
    ]);
    const diff = (await ok(['diff', 'changed'])).split('\n').filter(Boolean);
    expect(diff).toEqual(expect.arrayContaining(['A /new', 'D /etc/group', 'C /etc', 'C /etc/passwd']));
    const tarFile = path.join(tmp, 'export.tar');
    await ok(['export', '-o', tarFile, 'changed']);
    const names = execFileSync('tar', ['-tf', tarFile]).toString().split('\n');
    expect(names).toEqual(expect.arrayContaining(['./new', './bin/busybox']));
    expect(names).not.toContain('./etc/group');
    await ok(['rm', 'changed']);
  });
});
