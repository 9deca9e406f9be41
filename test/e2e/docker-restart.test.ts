import {
  DockerCli,
  dockerCliSuite,
  dockerFails,
  dockerOk,
  socketRequest,
  startDockerWarden,
} from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, TestWarden } from '../utils/warden';

/**
 * Restart policies (issue 15, point 2) through the real docker CLI: Docker's semantics for
 * `--restart`, its backoff, `Restarting (N)` in ps, RestartCount, a remembered stop, `docker
 * update --restart`, and a policy that caps or denies them. Timings are asserted with slack:
 * the machine is shared and loaded.
 */
dockerCliSuite('restart policies through the docker CLI')('restart policies through the docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let socket: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, socket, close } = await startDockerWarden(`restart-pol-${process.pid}`));
  });
  afterAll(() => close?.());

  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];
  /** die and start events of one container since `since` (unix seconds), in order. */
  const lifecycle = async (name: string, since: number) =>
    (
      await ok([
        'events',
        '--since',
        String(since),
        '--until',
        String(Math.ceil(Date.now() / 1000) + 1),
        '--filter',
        `container=${name}`,
        '--format',
        '{{json .}}',
      ])
    )
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            Action: string;
            timeNano: number;
            Actor: { Attributes: Record<string, string> };
          },
      );

  it('on-failure:2 restarts a failing command twice, backing off 100 ms then 200 ms, and stops', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok([
      'run',
      '-d',
      '--name',
      'flaky',
      '--restart',
      'on-failure:2',
      'busybox:1.35',
      'sh',
      '-c',
      'exit 3',
    ]);
    const done = await eventually(
      'two restarts, then exited',
      async () => {
        const c = await inspect('flaky');
        return c.State.Status === 'exited' && c.RestartCount === 2 ? c : undefined;
      },
      20000,
    );
    expect(done.State).toMatchObject({ ExitCode: 3, Restarting: false, Running: false });
    expect(done.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    const events = (await lifecycle('flaky', since)).filter((e) => ['start', 'die'].includes(e.Action));
    expect(events.map((e) => e.Action)).toEqual(['start', 'die', 'start', 'die', 'start', 'die']);
    expect(events.filter((e) => e.Action === 'die').map((e) => e.Actor.Attributes.exitCode)).toEqual([
      '3',
      '3',
      '3',
    ]);
    // Each restart waits out its backoff: die → start at least 100 ms, then at least 200 ms
    // (the upper bound is slack for a loaded machine, not a target).
    const gap = (i: number) => (events[i + 1].timeNano - events[i].timeNano) / 1e6;
    expect(gap(1)).toBeGreaterThanOrEqual(95);
    expect(gap(3)).toBeGreaterThanOrEqual(195);
    expect(gap(1)).toBeLessThan(5000);
    expect(gap(3)).toBeLessThan(5000);
    expect(await ok(['ps', '-a', '--filter', 'name=flaky', '--format', '{{.Status}}'])).toMatch(
      /^Exited \(3\)/,
    );
    await ok(['rm', 'flaky']);
  });

  it('always: ps shows Restarting (N) during the backoff; stop calls it off and it stays down; restart resets the count', async () => {
    await ok(['run', '-d', '--name', 'looper', '--restart', 'always', 'busybox:1.35', 'sh', '-c', 'exit 1']);
    // After a few quick restarts the backoff is long enough to be seen.
    const status = await eventually(
      'ps to show Restarting',
      async () => {
        const s = (await ok(['ps', '--filter', 'name=looper', '--format', '{{.Status}}'])).trim();
        return /^Restarting \(1\) .* ago$/.test(s) ? s : undefined;
      },
      30000,
    );
    expect(status).toMatch(/^Restarting \(1\)/);
    const during = await inspect('looper');
    expect(during.State).toMatchObject({ Status: 'restarting', Restarting: true, Running: true, Pid: 0 });
    expect(during.RestartCount).toBeGreaterThanOrEqual(1);
    // As Docker's: a restarting container is running to `start` (304, no error) and to `rm`
    // (by now it may be in its next short run).
    await ok(['start', 'looper']);
    expect(await fails(['rm', 'looper'])).toMatch(/is (restarting|running): cannot remove .*force-remove/);

    await ok(['stop', 'looper']);
    const stopped = await inspect('looper');
    expect(stopped.State).toMatchObject({ Status: 'exited', Restarting: false });
    await new Promise((r) => setTimeout(r, 2500)); // longer than the backoff it had reached
    expect((await inspect('looper')).State.Status).toBe('exited');
    expect((await inspect('looper')).RestartCount).toBe(stopped.RestartCount);

    // A client's restart is a client's start: Docker's count begins again, and `restart` is an event.
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok(['update', '--restart', 'no', 'looper']);
    await ok(['restart', 'looper']);
    expect((await inspect('looper')).RestartCount).toBe(0);
    // The trail commits in batches: the event is there once its batch is.
    await eventually('the restart event', async () =>
      (await lifecycle('looper', since)).some((e) => e.Action === 'restart'),
    );
    await ok(['rm', '-f', 'looper']);
  });

  it('unless-stopped keeps a service up across its own exits; docker update --restart changes the policy of a running one', async () => {
    await ok(['run', '-d', '--name', 'svc', 'busybox:1.35', 'sh', '-c', 'sleep 0.5; exit 0']);
    await ok(['update', '--restart', 'unless-stopped', 'svc']);
    expect((await inspect('svc')).HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    const c = await eventually('the exit to be followed by a restart', async () => {
      const i = await inspect('svc');
      return i.RestartCount >= 1 ? i : undefined;
    });
    expect(c.HostConfig.RestartPolicy).toEqual({ Name: 'unless-stopped', MaximumRetryCount: 0 });
    // Running or between runs: either way the stop holds.
    await ok(['stop', 'svc']);
    expect((await inspect('svc')).State.Status).toBe('exited');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await inspect('svc')).State.Status).toBe('exited');
    await ok(['rm', 'svc']);
  });

  it('--rm with a restart policy is refused, as Docker; a bad policy says what is wrong', async () => {
    const rm = await socketRequest(socket, 'POST', '/containers/create', {
      Image: 'busybox:1.35',
      HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } },
    });
    expect(rm.status).toBe(400);
    expect(JSON.parse(rm.body).message).toMatch(/can't create 'AutoRemove' container with restart policy/);
    const bad = await socketRequest(socket, 'POST', '/containers/create', {
      Image: 'busybox:1.35',
      HostConfig: { RestartPolicy: { Name: 'sometimes' } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toMatch(/unknown policy 'sometimes'/);
    const count = await socketRequest(socket, 'POST', '/containers/create', {
      Image: 'busybox:1.35',
      HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } },
    });
    expect(count.status).toBe(400);
    expect(JSON.parse(count.body).message).toMatch(/maximum retry count can only be used with 'on-failure'/);
    expect((await api(w, 'GET', '/containers?all=true')).body).toEqual([]);
  });

  // Last: it binds a stricter policy to the socket's principal for the rest of the file.
  it('a policy denies always with its reason (403) and caps on-failure retries, also on update', async () => {
    await ok(['run', '-d', '--name', 'plain', 'busybox:1.35', 'sleep', '60']);
    const doc = {
      name: 'no-always',
      mode: 'enforce',
      rules: { restart: { allowedPolicies: ['no', 'on-failure'], maxRetries: { max: 3 } } },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    expect(created.status).toBe(201);
    await api(w, 'POST', '/policies/no-always/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/no-always/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });

    const denied = await socketRequest(socket, 'POST', '/containers/create', {
      Image: 'busybox:1.35',
      HostConfig: { RestartPolicy: { Name: 'always' } },
    });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).message).toMatch(
      /restart policy 'always' is not allowed; use 'no', 'on-failure' \(policy no-always, rule restart\.allowedPolicies\)/,
    );
    expect(await fails(['run', '-d', '--restart', 'on-failure:5', 'busybox:1.35', 'true'])).toMatch(
      /on-failure:5 retries more than the cap of 3/,
    );
    expect(await fails(['update', '--restart', 'unless-stopped', 'plain'])).toMatch(
      /rule restart\.allowedPolicies/,
    );
    expect((await inspect('plain')).HostConfig.RestartPolicy.Name).toBe('no');
    await ok(['run', '-d', '--name', 'capped', '--restart', 'on-failure:3', 'busybox:1.35', 'true']);
    await ok(['rm', '-f', 'plain', 'capped']);
  });
});
