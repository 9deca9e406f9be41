import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, processesMentioning, startCli, waitHealthy, type CliProcess } from '../utils/cli';
import { importBusybox } from '../utils/containers';
import { DockerCli, dockerOk, socketRequest } from '../utils/docker-cli';
import { hijack } from '../utils/hijack';
import { until } from '../utils/services';
import { api } from '../utils/warden';

/**
 * A terminal and a stdin survive Warden (issue 15, points 1 and 4): the shim holds the pty
 * master and the stdin pipe, so a Warden that adopted the containers attaches to them,
 * types into them and resizes them like the one that started them.
 */
describe('attach after a live restore: the terminal and stdin are the shim’s', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tty-restore-'));
  const socket = path.join(dataDir, 'docker.sock');
  let env: Record<string, string>;
  const w = { url: '' };
  let warden: CliProcess | undefined;
  const docker = new DockerCli(socket);

  const up = async () => {
    warden = startCli(['up'], env);
    await waitHealthy(w.url, warden);
  };
  const stop = async () => {
    warden!.child.kill('SIGINT');
    expect(await warden!.exit).toBe(0);
    warden = undefined;
  };

  beforeAll(async () => {
    ({ env, url: w.url } = await cliWardenEnv(dataDir, `h-tty-restore-${process.pid}`, {
      WARDEN_DOCKER_SOCKET: socket,
    }));
    await up();
    await importBusybox(w);
  }, 180_000);
  afterAll(async () => {
    if (warden) {
      const all = (await api(w, 'GET', '/containers?all=true')).body as Array<{ id: string }>;
      for (const c of all) await api(w, 'DELETE', `/containers/${c.id}?force=true`);
      warden.child.kill('SIGINT');
      await warden.exit;
    }
    docker.cleanup();
    expect(processesMentioning(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a TTY shell and a stdin reader started by one Warden are typed into and resized through the next', async () => {
    const tty = (await dockerOk(docker, ['run', '-dit', '--name', 'shell', 'busybox:1.35', 'sh'])).trim();
    const reader = (await dockerOk(docker, ['run', '-di', '--name', 'reader', 'busybox:1.35', 'cat'])).trim();
    const before = await hijack(socket, `/containers/${tty}/attach?stream=1&stdin=1&stdout=1`);
    before.write('export KEPT=yes\n');
    await until(() => expect(before.received().toString()).toContain('export KEPT=yes'));
    before.destroy();

    await stop(); // live restore is the default: both keep running, their shims hold the ends
    await up();

    const after = await hijack(socket, `/containers/${tty}/attach?stream=1&stdin=1&stdout=1`);
    expect(after.status).toBe(101);
    expect((await socketRequest(socket, 'POST', `/containers/${tty}/resize?h=45&w=99`)).status).toBe(200);
    after.write('echo kept-$KEPT; stty size\n');
    await until(() => expect(after.received().toString()).toContain('kept-yes\r\n45 99\r\n'));
    after.write('exit 9\n');
    await after.closed;
    const waited = await socketRequest(socket, 'POST', `/containers/${tty}/wait`);
    expect(JSON.parse(waited.body)).toMatchObject({ StatusCode: 9 });

    // The adopted reader's stdin is still open: what is sent now reaches cat.
    const feed = await hijack(socket, `/containers/${reader}/attach?stream=1&stdin=1`);
    feed.write('after-restore\n');
    await until(async () => expect((await dockerOk(docker, ['logs', reader])).trim()).toBe('after-restore'));
    feed.destroy();
    await dockerOk(docker, ['rm', '-f', tty, reader]);
  });
});
