import { dockerSave } from '../fixtures/images/archives';
import { busyboxImage } from '../fixtures/images/fixture-images';
import { DockerCli, dockerCliSuite, dockerFails, dockerOk, startDockerWarden } from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, TestWarden } from '../utils/warden';

/**
 * Health checks (issue 15, point 3) through the real docker CLI: `--health-*` and an image's
 * HEALTHCHECK, probes run in the container, `State.Health` as Docker shows it, `(healthy)` in
 * ps, `health_status: …` events, and only the transitions in the audit trail.
 */
dockerCliSuite('health checks through the docker CLI')('health checks through the docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ w, docker, close } = await startDockerWarden(`health-${process.pid}`));
    // An image whose config carries a HEALTHCHECK, as `docker build` writes it.
    const image = await busyboxImage({
      healthcheck: {
        Test: ['CMD-SHELL', 'echo from-image; test ! -f /tmp/sick'],
        Interval: 300e6,
        Retries: 1,
      },
    });
    const r = await fetch(`${w.url}/images/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-tar' },
      body: await dockerSave(image, ['checked:1']),
    });
    expect(r.status).toBe(201);
  });
  afterAll(() => close?.());

  const ok = (args: string[]) => dockerOk(docker, args);
  const inspect = async (ref: string) => JSON.parse(await ok(['inspect', ref]))[0];
  const health = async (ref: string) => (await inspect(ref)).State.Health;
  const becomes = (ref: string, status: string, ms = 20000) =>
    eventually(
      `${ref} to be ${status}`,
      async () => ((await health(ref))?.Status === status ? true : undefined),
      ms,
    );

  it('--health-cmd: starting, unhealthy after `retries` failures, healthy once it passes; ps, events and the trail say so', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok([
      'run',
      '-d',
      '--name',
      'hc',
      '--health-cmd',
      'echo probe; test -f /tmp/ok',
      '--health-interval',
      '300ms',
      '--health-retries',
      '2',
      'busybox:1.35',
      'sleep',
      '300',
    ]);
    const first = await inspect('hc');
    expect(first.Config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'echo probe; test -f /tmp/ok'],
      Interval: 300e6,
      Retries: 2,
    });
    expect(first.State.Health.Status).toBe('starting');
    await becomes('hc', 'unhealthy');
    const sick = await health('hc');
    expect(sick.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(sick.Log[0]).toMatchObject({ ExitCode: 1, Output: 'probe\n' });
    for (const e of sick.Log) expect(Date.parse(e.End)).toBeGreaterThanOrEqual(Date.parse(e.Start));
    expect(await ok(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).toMatch(
      /^Up .* \(unhealthy\)$/m,
    );

    await ok(['exec', 'hc', 'touch', '/tmp/ok']);
    await becomes('hc', 'healthy');
    const well = await health('hc');
    expect(well.FailingStreak).toBe(0);
    expect(well.Log.length).toBeLessThanOrEqual(5);
    expect(well.Log.at(-1)).toMatchObject({ ExitCode: 0, Output: 'probe\n' });
    expect(await ok(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).toMatch(
      /^Up .* \(healthy\)$/m,
    );
    // `ps --filter health=…`: by the check's status; `none` is a container without a check.
    await ok(['run', '-d', '--name', 'plain', 'busybox:1.35', 'sleep', '300']);
    const names = async (h: string) =>
      (await ok(['ps', '--filter', `health=${h}`, '--format', '{{.Names}}']))
        .trim()
        .split('\n')
        .filter(Boolean);
    expect(await names('healthy')).toEqual(['hc']);
    expect(await names('unhealthy')).toEqual([]);
    expect(await names('starting')).toEqual([]);
    expect(await names('none')).toContain('plain');
    expect(await names('none')).not.toContain('hc');
    expect(await dockerFails(docker, ['ps', '--filter', 'health=sickly'])).toContain(
      "invalid filter 'health=sickly'",
    );
    await ok(['rm', '-f', 'plain']);
    await eventually('the health_status events', async () => {
      const out = await ok([
        'events',
        '--since',
        String(since),
        '--until',
        String(Math.ceil(Date.now() / 1000) + 1),
        '--filter',
        'container=hc',
        '--filter',
        'event=health_status',
        '--format',
        '{{.Action}}',
      ]);
      return out.trim() === 'health_status: unhealthy\nhealth_status: healthy' ? true : undefined;
    });
    // The trail has the two transitions, not the many probes.
    const trail = await api(w, 'GET', `/audit/events?type=container.health_status&subject=${first.Id}`);
    expect(trail.body.events.map((e: { payload: { status: string } }) => e.payload.status)).toEqual([
      'unhealthy',
      'healthy',
    ]);
    expect(trail.body.events[0]).toMatchObject({ principal: 'system', payload: { previous: 'starting' } });

    // Paused: no probes. Unpaused: they go on.
    await ok(['pause', 'hc']);
    const frozen = (await health('hc')).Log.at(-1).Start;
    await new Promise((r) => setTimeout(r, 1200));
    expect((await health('hc')).Log.at(-1).Start).toBe(frozen);
    await ok(['unpause', 'hc']);
    await eventually('a probe after unpause', async () => (await health('hc')).Log.at(-1).Start !== frozen);

    // Stopped: Docker shows the last status as unhealthy, with its log.
    await ok(['stop', '-t', '0', 'hc']);
    expect(await health('hc')).toMatchObject({ Status: 'unhealthy' });
    await ok(['rm', 'hc']);
  });

  it('a probe past its timeout is ended and fails with -1, as Docker words it', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'slow',
      '--health-cmd',
      'sleep 5',
      '--health-timeout',
      '200ms',
      '--health-interval',
      '300ms',
      '--health-retries',
      '1',
      'busybox:1.35',
      'sleep',
      '300',
    ]);
    await becomes('slow', 'unhealthy');
    expect((await health('slow')).Log[0]).toMatchObject({
      ExitCode: -1,
      Output: 'Health check exceeded timeout (200ms)',
    });
    await ok(['rm', '-f', 'slow']);
  });

  it("the image's HEALTHCHECK applies unless --no-healthcheck; flags override it field by field", async () => {
    await ok(['run', '-d', '--name', 'img', 'checked:1', 'sleep', '300']);
    const c = await inspect('img');
    expect(c.Config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'echo from-image; test ! -f /tmp/sick'],
      Interval: 300e6,
      Retries: 1,
    });
    await becomes('img', 'healthy');
    expect((await health('img')).Log.at(-1).Output).toBe('from-image\n');
    await ok(['exec', 'img', 'touch', '/tmp/sick']);
    await becomes('img', 'unhealthy');

    await ok(['run', '-d', '--name', 'img-retries', '--health-retries', '4', 'checked:1', 'sleep', '300']);
    expect((await inspect('img-retries')).Config.Healthcheck).toMatchObject({ Interval: 300e6, Retries: 4 });

    await ok(['run', '-d', '--name', 'img-none', '--no-healthcheck', 'checked:1', 'sleep', '300']);
    const none = await inspect('img-none');
    expect(none.State.Health).toBeUndefined();
    expect(await ok(['ps', '--filter', 'name=img-none', '--format', '{{.Status}}'])).toMatch(/^Up [^(]*$/m);
    await ok(['rm', '-f', 'img', 'img-retries', 'img-none']);
  });
});
