/*
 * The attach and exec streams over the Docker API itself, without a terminal in between: the
 * raw shape of a TTY stream (no 8-byte frames) against the multiplexed one, resize of a
 * container and of an exec, the detach keys, and the 4xx answers for what is wrong.
 */
import { FrameReader } from '../../src/docker-api/frames';
import { dockerCliSuite, dockerOk, socketRequest, startDockerWarden } from '../utils/docker-cli';
import { hijack } from '../utils/hijack';
import { WebSocket } from 'ws';
import { until } from '../utils/services';
import { ADMIN_TOKEN, api } from '../utils/warden';

const suite = dockerCliSuite('docker attach API');
const BB = 'busybox:1.35';

suite('attach, exec and resize over the API: raw with a TTY, multiplexed without', () => {
  let env: Awaited<ReturnType<typeof startDockerWarden>>;
  const req = (method: string, path: string, body?: unknown) => socketRequest(env.socket, method, path, body);
  const text = (b: Buffer) => b.toString('latin1');

  beforeAll(async () => {
    env = await startDockerWarden(`h-tty-api-${process.pid}`);
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('a TTY container: raw bytes both ways, the terminal echoes; resize is seen inside; detachKeys end the stream only', async () => {
    const id = (await dockerOk(env.docker, ['run', '-dit', '--name', 'raw1', BB, 'sh'])).trim();
    const inspect = JSON.parse((await req('GET', `/containers/${id}/json`)).body);
    expect(inspect.Config).toMatchObject({ Tty: true, OpenStdin: true, StdinOnce: false });

    const a = await hijack(
      env.socket,
      `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-a,x`,
    );
    expect(a.status).toBe(101);
    expect(a.headers).toMatch(/Content-Type: application\/vnd\.docker\.raw-stream/);
    a.write('echo $((40+2))\n');
    await until(() => expect(text(a.received())).toContain('42\r\n'));
    // No frame header: the stream starts with the terminal's echo of what was typed.
    expect(text(a.received())).toMatch(/^echo \$\(\(40\+2\)\)\r\n/);

    const r = await req('POST', `/containers/${id}/resize?h=33&w=77`);
    expect(r.status).toBe(200);
    a.write('stty size\n');
    await until(() => expect(text(a.received())).toContain('33 77\r\n'));

    // The detach sequence: the stream ends, the shell goes on.
    a.write(Buffer.from([1]));
    a.write('x');
    await a.closed;
    expect((await dockerOk(env.docker, ['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('running');

    // logs of a terminal are raw too, CRLF and all
    const logs = await req('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
    expect(logs.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    expect(logs.body).toContain('42\r\n');

    await dockerOk(env.docker, ['rm', '-f', id]);
  });

  it('run --rm -t without a terminal on the client: the whole output from the first byte, raw, stderr in it; the exit code', async () => {
    // Several times: a process this short often ends before the attach session can open; the
    // output then comes from the log, never lost.
    for (let i = 0; i < 6; i++) {
      const r = await env.docker.run(['run', '--rm', '-t', BB, 'sh', '-c', 'echo out; echo err >&2; exit 2']);
      expect(r).toMatchObject({ code: 2, stdout: 'out\r\nerr\r\n', stderr: '' });
    }
    expect(await dockerOk(env.docker, ['ps', '-aq'])).toBe('');
  });

  it("without a TTY: 8-byte frames per stream; the end of the client's stdin closes the container's (StdinOnce)", async () => {
    const create = await req('POST', '/containers/create', {
      Image: BB,
      Cmd: ['sh', '-c', 'cat; echo end >&2'],
      OpenStdin: true,
      StdinOnce: true,
    });
    const { Id: id } = JSON.parse(create.body);
    const a = await hijack(env.socket, `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
    expect(a.headers).toMatch(/Content-Type: application\/vnd\.docker\.multiplexed-stream/);
    expect((await req('POST', `/containers/${id}/start`)).status).toBe(204);
    a.write('one\n');
    a.endInput();
    await a.closed;
    const frames = new FrameReader().push(a.received());
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', 'one\n'],
      ['stderr', 'end\n'],
    ]);
    expect((await req('POST', `/containers/${id}/wait`)).status).toBe(200);
  });

  it('exec with a TTY: raw, its first size from the exec, resized while it runs', async () => {
    const id = (await dockerOk(env.docker, ['run', '-d', '--name', 'raw3', BB, 'sleep', '600'])).trim();
    const created = await req('POST', `/containers/${id}/exec`, {
      Cmd: ['sh'],
      Tty: true,
      AttachStdin: true,
      AttachStdout: true,
      ConsoleSize: [21, 61],
    });
    expect(created.status).toBe(201);
    const execId = JSON.parse(created.body).Id as string;
    const e = await hijack(env.socket, `/exec/${execId}/start`, { Detach: false, Tty: true });
    expect(e.headers).toMatch(/raw-stream/);
    e.write('stty size\n');
    await until(() => expect(text(e.received())).toContain('21 61\r\n'));
    expect((await req('POST', `/exec/${execId}/resize?h=31&w=91`)).status).toBe(200);
    e.write('stty size; exit 6\n');
    await e.closed;
    expect(text(e.received())).toContain('31 91\r\n');
    expect(text(e.received()).charCodeAt(0)).not.toBeLessThan(3); // no frame header
    const inspected = JSON.parse((await req('GET', `/exec/${execId}/json`)).body);
    expect(inspected).toMatchObject({ ExitCode: 6, Running: false, ProcessConfig: { tty: true } });
    await dockerOk(env.docker, ['rm', '-f', id]);
  });

  it("WebSocket attach, on the Docker socket (moby's attach/ws) and on REST with a token: raw binary messages both ways", async () => {
    const id = (await dockerOk(env.docker, ['run', '-dit', '--name', 'ws1', BB, 'sh'])).trim();
    const open = (url: string, headers: Record<string, string> = {}) =>
      new Promise<{ ws: WebSocket; seen: () => string }>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        let text = '';
        ws.on('message', (d: Buffer, binary: boolean) => {
          expect(binary).toBe(true);
          text += d.toString();
        });
        ws.once('open', () => resolve({ ws, seen: () => text }));
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade refused: ${res.statusCode}`)),
        );
        ws.once('error', reject);
      });
    const docker = await open(
      `ws+unix://${env.socket}:/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1`,
    );
    docker.ws.send('echo via-$((1+1))\n');
    await until(() => expect(docker.seen()).toContain('via-2\r\n'));
    docker.ws.close();

    const rest = await open(`${env.w.url.replace(/^http/, 'ws')}/containers/${id}/attach/ws?stdin=1`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    rest.ws.send(Buffer.from('echo rest-$((2+2))\n'));
    await until(() => expect(rest.seen()).toContain('rest-4\r\n'));
    expect((await api(env.w, 'POST', `/containers/${id}/resize?h=12&w=34`)).status).toBe(204);
    rest.ws.send('stty size\n');
    await until(() => expect(rest.seen()).toContain('12 34\r\n'));
    const plain = await api(env.w, 'GET', `/containers/${id}/attach/ws`);
    expect(plain.status).toBe(400);
    expect(plain.body.message).toMatch(/Upgrade: websocket/);
    // ctrl-p ctrl-q: the server closes the socket, the shell goes on
    const closed = new Promise((r) => rest.ws.once('close', r));
    rest.ws.send(Buffer.from([16, 17]));
    await closed;
    expect((await dockerOk(env.docker, ['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('running');

    // REST without a token: refused before any upgrade
    await expect(open(`${env.w.url.replace(/^http/, 'ws')}/containers/${id}/attach/ws`)).rejects.toThrow(
      /401/,
    );
    await dockerOk(env.docker, ['rm', '-f', id]);
  });

  it('4xx for what is wrong: bad detach keys, a resize of a stopped container, a bad size', async () => {
    const id = (await dockerOk(env.docker, ['create', '-t', '--name', 'raw4', BB, 'true'])).trim();
    const bad = await hijack(env.socket, `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-1`);
    expect(bad.status).toBe(400);
    await bad.closed;
    expect(text(bad.received())).toMatch(/Invalid detach keys \(ctrl-1\)/);
    const paused = (await dockerOk(env.docker, ['run', '-dit', '--name', 'raw5', BB, 'sh'])).trim();
    await dockerOk(env.docker, ['pause', paused]);
    const refused = await hijack(env.socket, `/containers/${paused}/attach?stream=1&stdout=1`);
    expect(refused.status).toBe(409);
    await refused.closed;
    expect(text(refused.received())).toMatch(/is paused, unpause the container before attach/);
    await dockerOk(env.docker, ['rm', '-f', paused]);
    const stopped = await req('POST', `/containers/${id}/resize?h=10&w=10`);
    expect(stopped.status).toBe(409);
    expect(JSON.parse(stopped.body).message).toMatch(/is not running/);
    expect((await req('POST', `/containers/${id}/resize?h=abc&w=10`)).status).toBe(400);
    const exec = await req('POST', `/containers/${id}/exec`, { Cmd: ['sh'], DetachKeys: 'nope' });
    expect(exec.status).toBe(400);
    expect(JSON.parse(exec.body).message).toMatch(/Invalid detach keys \(nope\)/);
    expect((await req('POST', `/exec/${'0'.repeat(64)}/resize?h=1&w=1`)).status).toBe(404);
  });
});
