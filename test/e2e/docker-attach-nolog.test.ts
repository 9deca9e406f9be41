/*
 * `--log-driver none` without a terminal (issue 15): nothing is kept, so an attach reads the
 * container's output live from its shim (stdout and stderr apart, as Docker frames them)
 * instead of the log it does not have. Through the real docker CLI.
 */
import { DockerCli, dockerCliSuite, dockerFails, dockerOk, startDockerWarden } from '../utils/docker-cli';

const BB = 'busybox:1.35';

dockerCliSuite('docker attach nolog e2e')('attach with --log-driver none', () => {
  let docker: DockerCli;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ docker, close } = await startDockerWarden(`warden-test-nolog-${process.pid}`));
  });
  afterAll(() => close?.());

  it('docker run in the foreground shows stdout and stderr apart, and logs has nothing', async () => {
    const r = await docker.run([
      'run',
      '--name',
      'fg',
      '--log-driver',
      'none',
      BB,
      'sh',
      '-c',
      'sleep 0.5; echo to-out; echo to-err >&2; exit 3',
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('to-out\n');
    expect(r.stderr).toBe('to-err\n');
    expect(await dockerFails(docker, ['logs', 'fg'])).toMatch(/does not support reading/);
    await dockerOk(docker, ['rm', 'fg']);
  });

  it('a run that ends at once loses no output: 50 in a row, each prints its line', async () => {
    // The attach session opens while the process waits before execve (the shim's READY), so
    // not even `echo` can finish before it (it lost ~1 run in 5 when it opened after).
    const lost: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await docker.run(['run', '--log-driver', 'none', BB, 'echo', `hi-${i}`]);
      if (r.code !== 0 || r.stdout !== `hi-${i}\n`)
        lost.push(`run ${i}: code ${r.code} out ${JSON.stringify(r.stdout)}`);
    }
    expect(lost).toEqual([]);
    await dockerOk(docker, ['container', 'prune', '-f']);
  });

  it('docker run -a stdout with the json-file log still gets its output', async () => {
    const r = await docker.run(['run', '--rm', '-a', 'stdout', BB, 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('');
  });

  it('docker attach to a running container gets what it prints from then on, and its end', async () => {
    const id = (
      await dockerOk(docker, [
        'run',
        '-d',
        '--log-driver',
        'none',
        BB,
        'sh',
        '-c',
        'echo before; sleep 2; for i in 1 2 3; do echo line-$i; echo warn-$i >&2; done; exit 7',
      ])
    ).trim();
    await new Promise((r) => setTimeout(r, 500));
    const r = await docker.run(['attach', '--no-stdin', id]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('line-1\nline-2\nline-3\n');
    expect(r.stderr).toBe('warn-1\nwarn-2\nwarn-3\n');
  });

  it('docker run -i: stdin in, output back, without a log', async () => {
    const r = await docker.run(
      ['run', '-i', '--rm', '--log-driver', 'none', BB, 'sh', '-c', 'read x; echo got-$x'],
      {
        input: 'typed\n',
      },
    );
    const out = r.stdout;
    expect(out).toBe('got-typed\n');
  });
});
