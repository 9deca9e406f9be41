import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliWardenEnv, startCli, waitHealthy, type CliProcess } from '../utils/cli';
import { importBusybox } from '../utils/containers';
import { DockerCli, dockerCliSuite, dockerFails, dockerOk, startDockerWarden } from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, type TestWarden } from '../utils/warden';

const BB = 'busybox:1.35';
/** `n` numbered lines of about 100 bytes, 10 ms apart (no two in one millisecond), then idle. */
const lines = (prefix: string, n: number, from = 0) =>
  `i=${from}; while [ $i -lt ${from + n} ]; do echo ${prefix}-$i-${'x'.repeat(80)}; i=$((i+1)); sleep 0.01; done`;
const numbered = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/-(\d+)-x/.exec(l)?.[1] ?? NaN));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/**
 * Logs that cannot fill the disk (issue 15 point 6), through the real docker CLI: --log-opt
 * max-size/max-file applied by the shim's rotation, a default cap and the policy's maximum,
 * --log-driver none, other drivers refused, and docker logs --tail/--since/--until/-f/-t read
 * across rotated files.
 */
dockerCliSuite('docker logs')('docker logs across rotation, log options and policy', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;
  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];
  const logFiles = (id: string) =>
    fs
      .readdirSync(path.join(w.dataDir, 'containers', id))
      .filter((f) => f.startsWith('log.jsonl'))
      .sort();

  beforeAll(async () => {
    ({ w, docker, close } = await startDockerWarden(`h-exec-logs-${process.pid}`));
  }, 120_000);
  afterAll(async () => {
    for (const n of ['rot', 'follow', 'quiet', 'plain']) await docker?.run(['rm', '-f', n]);
    await close?.();
  });

  it('max-size/max-file rotate; --tail, --since/--until and -t read across the files', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'rot',
      '--log-opt',
      'max-size=4k',
      '--log-opt',
      'max-file=3',
      BB,
      'sh',
      '-c',
      `${lines('r', 100)}; sleep 600`,
    ]);
    const c = await inspect('rot');
    expect(c.HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '4k', 'max-file': '3' },
    });
    await eventually('100 lines written', async () =>
      (await ok(['logs', '--tail', '1', 'rot'])).includes('r-99-'),
    );
    // About 150 bytes a json-file line: 100 lines overflow three files of 4 KiB, the oldest cut.
    expect(logFiles(c.Id)).toEqual(['log.jsonl', 'log.jsonl.1', 'log.jsonl.2']);
    for (const f of logFiles(c.Id))
      expect(fs.statSync(path.join(w.dataDir, 'containers', c.Id, f)).size).toBeLessThanOrEqual(4096);
    const current =
      fs.readFileSync(path.join(w.dataDir, 'containers', c.Id, 'log.jsonl'), 'utf8').split('\n').length - 1;
    const all = numbered(await ok(['logs', 'rot']));
    expect(all).toEqual(range(all[0], 100)); // contiguous to the end: nothing lost between files
    expect(all[0]).toBeGreaterThan(0); // the oldest lines went with the oldest file
    // A tail longer than the current file reaches into the rotated one.
    const n = current + 5;
    expect(numbered(await ok(['logs', '--tail', String(n), 'rot']))).toEqual(range(100 - n, 100));

    const stamped = (await ok(['logs', '-t', 'rot'])).trim().split('\n');
    const at = (i: number) => stamped.find((l) => l.includes(` r-${i}-`))!.split(' ')[0];
    expect(at(99)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const lo = all[0] + 3;
    const window = await ok(['logs', '--since', at(lo), '--until', at(97), 'rot']);
    expect(numbered(window)).toEqual(range(lo, 98));
    expect(numbered(await ok(['logs', '--until', at(lo + 4), '--tail', '2', 'rot']))).toEqual([
      lo + 3,
      lo + 4,
    ]);
  });

  it('-f follows the log through rotations without losing or repeating a line', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'follow',
      '--log-opt',
      'max-size=2k',
      '--log-opt',
      'max-file=2',
      BB,
      'sh',
      '-c',
      `sleep 2; ${lines('f', 40)}; sleep 600`,
    ]);
    const got = await docker.lines(['logs', '-f', 'follow'], 40, 30_000);
    expect(numbered(got.join('\n'))).toEqual(range(0, 40));
    expect(logFiles((await inspect('follow')).Id)).toEqual(['log.jsonl', 'log.jsonl.1']);
  });

  it('--log-driver none keeps nothing and docker logs says so, as Docker does', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'quiet',
      '--log-driver',
      'none',
      BB,
      'sh',
      '-c',
      'echo hidden; sleep 600',
    ]);
    const c = await inspect('quiet');
    expect(c.HostConfig.LogConfig).toEqual({ Type: 'none', Config: {} });
    await new Promise((r) => setTimeout(r, 500));
    expect(logFiles(c.Id)).toEqual([]);
    expect(await fails(['logs', 'quiet'])).toMatch(/configured logging driver does not support reading/);
    expect(await fails(['logs', '-f', 'quiet'])).toMatch(
      /configured logging driver does not support reading/,
    );
    expect((await api(w, 'GET', `/containers/${c.Id}/logs`)).status).toBe(409);
  });

  it('other drivers and unapplied options are refused with what to do; the default cap and the policy maximum apply', async () => {
    expect(await fails(['run', '--rm', '--log-driver', 'syslog', BB, 'true'])).toMatch(
      /log driver 'syslog' is not available on Warden.*use --log-driver json-file .* or none/,
    );
    expect(await fails(['run', '--rm', '--log-opt', 'compress=true', BB, 'true'])).toMatch(
      /log opt 'compress' is not applied by Warden: leave it out/,
    );
    expect(await fails(['run', '--rm', '--log-opt', 'max-size=lots', BB, 'true'])).toMatch(
      /logMaxSize: "lots" is not a size/,
    );
    expect(
      await fails(['run', '--rm', '--log-driver', 'none', '--log-opt', 'max-size=1m', BB, 'true']),
    ).toMatch(/invalid logging opts for driver none/); // the CLI's own check; REST's is Warden's:
    const noneOpts = await api(w, 'POST', '/containers', {
      body: { image: BB, cmd: ['true'], logDriver: 'none', logMaxFiles: 2 },
    });
    expect(noneOpts.status).toBe(400);
    expect(noneOpts.body.message).toMatch(/the none log driver keeps no log/);
    // baseline: at most 10 files of 100 MiB.
    expect(
      await fails(['run', '--rm', '--log-opt', 'max-size=200m', '--log-opt', 'max-file=20', BB, 'true']),
    ).toMatch(
      /log max-size 200m exceeds the cap 100m \(policy baseline, rule logs.maxSize.max\); log max-file 20 exceeds the cap 10 \(policy baseline, rule logs.maxFiles.max\)/,
    );
    const rest = await api(w, 'POST', '/containers', {
      body: { image: BB, cmd: ['true'], logMaxSize: '1g' },
    });
    expect(rest.status).toBe(403);
    expect(rest.body.message).toMatch(/rule logs.maxSize.max/);
    const bad = await api(w, 'POST', '/containers', {
      body: { image: BB, cmd: ['true'], logDriver: 'journald' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/logDriver: must be json-file or none/);
    // Neither the request nor the policy says: Warden's default cap (WARDEN_LOG_MAX_SIZE/FILES).
    await ok(['run', '-d', '--name', 'plain', BB, 'sleep', '600']);
    expect((await inspect('plain')).HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '10m', 'max-file': '3' },
    });
  });
});

dockerCliSuite('docker logs across restarts')('docker logs across a Warden restart', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-logs-'));
  const socket = path.join(dataDir, 'docker.sock');
  const docker = new DockerCli(socket);
  const w = { url: '' };
  let env: Record<string, string>;
  let warden: CliProcess | undefined;
  const up = async () => {
    warden = startCli(['up'], env);
    await waitHealthy(w.url, warden);
  };
  const down = async () => {
    warden!.child.kill('SIGINT');
    expect(await warden!.exit).toBe(0);
    warden = undefined;
  };

  beforeAll(async () => {
    ({ env, url: w.url } = await cliWardenEnv(dataDir, `h-exec-logs-restart-${process.pid}`, {
      WARDEN_DOCKER_SOCKET: socket,
    }));
    await up();
    await importBusybox(w);
  }, 120_000);
  afterAll(async () => {
    if (warden) {
      await docker.run(['rm', '-f', 'steady']);
      await down();
    }
    docker.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lines the shim wrote and rotated while Warden was down read whole; -f follows after the restart', async () => {
    // 3 lines a second: some before the stop, more while Warden is down, more after.
    const script = `i=0; while :; do echo s-$i-${'x'.repeat(80)}; i=$((i+1)); sleep 0.3; done`;
    await dockerOk(docker, [
      'run',
      '-d',
      '--name',
      'steady',
      '--log-opt',
      'max-size=1k',
      '--log-opt',
      'max-file=5',
      BB,
      'sh',
      '-c',
      script,
    ]);
    await eventually('first lines', async () =>
      (await dockerOk(docker, ['logs', 'steady'])).includes('s-2-'),
    );
    await down();
    await new Promise((r) => setTimeout(r, 3000)); // the shim writes (and rotates) alone
    await up();
    const all = numbered(await dockerOk(docker, ['logs', 'steady']));
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all).toEqual(range(all[0], all[0] + all.length));
    const last = all[all.length - 1];
    const tail = numbered(await dockerOk(docker, ['logs', '--tail', '8', 'steady']));
    expect(tail[0]).toBeGreaterThanOrEqual(last - 7);
    expect(tail).toEqual(range(tail[0], tail[0] + 8));
    // Following the adopted container: on-disk lines, then live ones, across its next rotations.
    const followed = numbered(
      (await docker.lines(['logs', '-f', '--tail', '2', 'steady'], 12, 30_000)).join('\n'),
    );
    expect(followed).toEqual(range(followed[0], followed[0] + 12));
    await dockerOk(docker, ['rm', '-f', 'steady']);
  });
});
