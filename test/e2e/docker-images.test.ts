/*
 * Image verbs through the real docker CLI (issue 17 point 5): tag, rmi of a tag vs the last
 * name, history, save of several images and load back by digest, import from a file and from
 * stdin with --change, image prune (dangling, -a, label, until), and /distribution/{name}/json
 * against a real docker-registry upstream.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { busyboxImage, busyboxLayerTar } from '../fixtures/images/fixture-images';
import { pushImage, startDockerRegistry, DockerRegistry } from '../utils/registry';
import {
  DOCKER_BIN,
  DockerCli,
  dockerCliSuite,
  dockerFails,
  dockerOk,
  socketRequest,
  startDockerWarden,
} from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, socketAsAdmin, TestWarden } from '../utils/warden';

interface AuditEvent {
  type: string;
  subject: string;
  payload: Record<string, any>;
}

/** `docker …` with bytes on stdin (the CLI helper's input is text). */
function withStdin(
  docker: DockerCli,
  args: string[],
  input: Buffer,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(DOCKER_BIN, args, { env: docker.env(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

dockerCliSuite('docker image verbs')('image verbs through the real docker CLI', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let tmp: string;
  let socket: string;
  let close: () => Promise<void>;
  let upstream: DockerRegistry;

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    ({ w, docker, tmp, socket, close } = await startDockerWarden(`h-images-verbs-${process.pid}`, {
      WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${upstream.host}`,
    }));
    // The CLI acts as an admin: these are image verbs, not team scoping (team-scope.test.ts),
    // and the fixture image imported over REST is an admin's shared one.
    await socketAsAdmin(w);
  });
  afterAll(async () => {
    await close?.();
    await upstream?.stop();
  });

  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const idOf = async (ref: string) => (await ok(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
  const event = (type: string, match: (e: AuditEvent) => boolean) =>
    eventually(`a ${type} event`, async () =>
      ((await api(w, 'GET', `/audit/events?type=${type}&limit=500`)).body.events as AuditEvent[]).find(match),
    );

  it('tag adds a name; rmi of one name untags, of the last deletes, as Docker prints them', async () => {
    const id = await idOf('busybox:1.35');
    await ok(['tag', 'busybox:1.35', 'mybox:v1']);
    await ok(['tag', id.slice(7, 19), 'corp.io/team/mybox']);
    expect(await idOf('mybox:v1')).toBe(id);
    expect(await idOf('corp.io/team/mybox:latest')).toBe(id);
    const tagged = await event('image.tagged', (e) => e.payload.tag === 'mybox:v1');
    expect(tagged).toMatchObject({ subject: id, payload: { source: 'busybox:1.35' } });
    expect(await fails(['tag', 'busybox:1.35', 'Bad Name'])).toMatch(/invalid|must/i);
    expect(await fails(['tag', 'nothere:1', 'x:1'])).toMatch(/No such image: nothere:1/);

    expect((await ok(['rmi', 'mybox:v1'])).trim()).toBe('Untagged: mybox:v1');
    expect((await ok(['rmi', 'corp.io/team/mybox'])).trim()).toBe('Untagged: corp.io/team/mybox:latest');
    expect(await idOf('busybox:1.35')).toBe(id);
  });

  it('history lists the config history newest first with layer sizes', async () => {
    const rows = (
      await ok(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', 'busybox:1.35'])
    )
      .trim()
      .split('\n');
    expect(rows).toHaveLength(1);
    const [id, by, size] = rows[0].split('|');
    expect(id).toBe(await idOf('busybox:1.35'));
    expect(by).toBe('warden test fixture');
    expect(size).toMatch(/MB|kB/);
  });

  it('import from a file and from stdin, with --change and --message; the image runs', async () => {
    const rootfs = path.join(tmp, 'rootfs.tar');
    fs.writeFileSync(rootfs, await busyboxLayerTar());
    const out = await ok([
      'import',
      '--change',
      'CMD ["sh", "-c", "echo $GREETING from $(pwd)"]',
      '--change',
      'ENV GREETING=hello',
      '--change',
      'WORKDIR /tmp',
      '--change',
      'LABEL made.by=import',
      '--message',
      'from a file',
      rootfs,
      'imported:1',
    ]);
    const id = out.trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await idOf('imported:1')).toBe(id);
    expect((await ok(['run', '--rm', 'imported:1'])).trim()).toBe('hello from /tmp');
    expect((await ok(['image', 'inspect', '--format', '{{json .Config.Labels}}', 'imported:1'])).trim()).toBe(
      '{"made.by":"import"}',
    );
    expect((await ok(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', 'imported:1'])).trim()).toBe(
      'import|from a file',
    );
    const audited = await event('image.imported', (e) => e.subject === id);
    expect(audited.payload).toMatchObject({ format: 'rootfs', tags: ['imported:1'] });

    const fromStdin = await withStdin(docker, ['import', '-', 'stdin:1'], fs.readFileSync(rootfs));
    expect(fromStdin.code).toBe(0);
    expect((await ok(['run', '--rm', 'stdin:1', 'echo', 'ok'])).trim()).toBe('ok');
    // Its last name: rmi deletes the image, printing both lines as Docker does.
    const stdinId = await idOf('stdin:1');
    expect((await ok(['rmi', 'stdin:1'])).trim().split('\n')).toEqual([
      'Untagged: stdin:1',
      `Deleted: ${stdinId}`,
    ]);
    expect(await fails(['image', 'inspect', stdinId])).toMatch(/No such image/);

    const notTar = path.join(tmp, 'not.tar');
    fs.writeFileSync(notTar, 'hello, not a tar\n'.repeat(100));
    expect(await fails(['import', notTar, 'bad:1'])).toMatch(/not a tar archive/);
    expect(await fails(['import', '--change', 'RUN true', rootfs, 'bad:1'])).toMatch(
      /RUN cannot be changed here/,
    );
    expect(await fails(['image', 'inspect', 'bad:1'])).toMatch(/No such image/);
    expect(await fails(['import', 'http://example.invalid/x.tar', 'bad:1'])).toMatch(/not supported/);
  });

  it('save of several images loads back under the same digests and names', async () => {
    const ids = { busybox: await idOf('busybox:1.35'), imported: await idOf('imported:1') };
    await ok(['tag', 'busybox:1.35', 'saved:also']);
    const file = path.join(tmp, 'saved.tar');
    await ok(['save', '-o', file, 'busybox:1.35', 'saved:also', 'imported:1']);
    const saved = await event('image.saved', (e) => e.payload.refs.includes('imported:1'));
    expect(saved.payload.images).toHaveLength(2);
    await ok(['rmi', 'saved:also', 'imported:1']);
    expect(await fails(['image', 'inspect', 'imported:1'])).toMatch(/No such image/);
    const loaded = await ok(['load', '-i', file]);
    expect(loaded).toMatch(/Loaded image: imported:1/);
    expect(loaded).toMatch(/Loaded image: saved:also/);
    expect(await idOf('imported:1')).toBe(ids.imported);
    expect(await idOf('saved:also')).toBe(ids.busybox);
    expect((await ok(['run', '--rm', 'imported:1'])).trim()).toBe('hello from /tmp');
    // One image to stdout, as `docker save busybox > f` does.
    const one = await socketRequest(socket, 'GET', '/images/get?names=busybox%3A1.35');
    expect(one.status).toBe(200);
    expect(await fails(['save', '-o', path.join(tmp, 'x.tar'), 'nothere:1'])).toMatch(
      /No such image: nothere:1/,
    );
  });

  it('image prune removes dangling images; -a with a label filter removes unused labelled ones only', async () => {
    const rootfs = path.join(tmp, 'rootfs.tar');
    const dangling = (await ok(['import', '--change', 'LABEL v=1', rootfs])).trim();
    const labelled = (await ok(['import', '--change', 'LABEL prune=me', rootfs, 'labelled:1'])).trim();
    const used = (
      await ok(['import', '--change', 'LABEL prune=me', '--change', 'ENV U=1', rootfs, 'used:1'])
    ).trim();
    await ok(['create', '--name', 'user', 'used:1', 'true']);

    const pruned = await ok(['image', 'prune', '-f']);
    expect(pruned).toContain(`deleted: ${dangling}`);
    expect(pruned).not.toContain(labelled);
    await ok(['image', 'inspect', 'labelled:1']);

    const all = await ok(['image', 'prune', '-a', '-f', '--filter', 'label=prune=me']);
    expect(all).toContain('untagged: labelled:1');
    expect(all).toContain(`deleted: ${labelled}`);
    expect(all).not.toContain(used);
    expect(all).toMatch(/Total reclaimed space: [1-9]/);
    await ok(['image', 'inspect', 'used:1']);
    await ok(['image', 'inspect', 'busybox:1.35']);
    // Nothing older than a day here but the fixture busybox (2020), which a container of
    // another test may not use: `until` keeps everything made today.
    const recent = await ok([
      'image',
      'prune',
      '-a',
      '-f',
      '--filter',
      'until=24h',
      '--filter',
      'label=made.by=import',
    ]);
    expect(recent).not.toContain('deleted:');
    expect(await fails(['image', 'prune', '-f', '--filter', 'dangling=maybe'])).toMatch(/dangling=maybe/);
    await ok(['rm', 'user']);
    const audited = await event('image.pruned', (e) => e.payload.kind === 'images' && e.payload.all === true);
    expect(audited.payload.deleted).toContain(labelled);
  });

  it("commit makes an image of a stopped container's writable layer, deletions included, with --change", async () => {
    await ok([
      'run',
      '--name',
      'maker',
      'busybox:1.35',
      'sh',
      '-c',
      'echo data > /made && rm /etc/group && mkdir -p /srv/app && echo hi > /srv/app/x',
    ]);
    const id = (
      await ok([
        'commit',
        '-c',
        'CMD ["cat", "/made"]',
        '-c',
        'WORKDIR /srv/app',
        '-m',
        'made it',
        '-a',
        'ops',
        'maker',
        'committed:1',
      ])
    ).trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await idOf('committed:1')).toBe(id);
    expect((await ok(['run', '--rm', 'committed:1'])).trim()).toBe('data');
    expect((await ok(['run', '--rm', 'committed:1', 'cat', 'x'])).trim()).toBe('hi');
    // The deletion travelled as a whiteout: the base image's /etc/group is hidden.
    expect(await fails(['run', '--rm', 'committed:1', 'cat', '/etc/group'])).toMatch(/No such file/);
    const history = (await ok(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:1']))
      .trim()
      .split('\n');
    expect(history).toEqual([expect.stringMatching(/^sh -c echo data.*\|made it$/), 'warden test fixture|']);
    const audited = await event('image.committed', (e) => e.subject === id);
    expect(audited.payload).toMatchObject({
      name: 'maker',
      tags: ['committed:1'],
      author: 'ops',
      comment: 'made it',
    });
    expect(await fails(['commit', 'nosuch', 'x:1'])).toMatch(/No such container|no container/i);
    expect(await fails(['commit', '-c', 'RUN true', 'maker', 'x:1'])).toMatch(/RUN cannot be changed here/);
    await ok(['rm', 'maker']);
  });

  it('commit of a running container pauses it while its layer is read, then it runs on', async () => {
    await ok(['run', '-d', '--name', 'live', 'busybox:1.35', 'sh', '-c', 'echo state > /state; sleep 60']);
    await eventually(
      'the file written',
      async () => (await docker.run(['exec', 'live', 'cat', '/state'])).code === 0,
    );
    const id = (await ok(['commit', 'live', 'snapshot:1'])).trim();
    expect((await ok(['run', '--rm', 'snapshot:1', 'cat', '/state'])).trim()).toBe('state');
    expect((await ok(['inspect', '--format', '{{.State.Status}}', 'live'])).trim()).toBe('running');
    const paused = await event('container.paused', (e) => e.payload.name === 'live');
    const unpaused = await event('container.unpaused', (e) => e.payload.name === 'live');
    expect(paused).toBeDefined();
    expect(unpaused).toBeDefined();
    await event('image.committed', (e) => e.subject === id);
    // --pause=false leaves it running throughout.
    await ok(['commit', '--pause=false', 'live', 'snapshot:2']);
    await ok(['rm', '-f', 'live']);
  });

  it('/distribution/{name}/json answers the upstream descriptor and platform, by the pull policy', async () => {
    const image = await busyboxImage({ gzip: true });
    await pushImage(upstream.url, 'app/busybox', '1', image);
    const r = await socketRequest(socket, 'GET', `/distribution/${upstream.host}/app/busybox:1/json`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      Descriptor: {
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.bytes.length,
      },
      Platforms: [{ architecture: expect.any(String), os: 'linux' }],
    });
    const missing = await socketRequest(socket, 'GET', `/distribution/${upstream.host}/app/nothere:1/json`);
    expect(missing.status).toBe(404);
    const unknown = await socketRequest(socket, 'GET', '/distribution/nowhere.example:5000/x:1/json');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).message).toMatch(/no configured upstream serves/);
  });

  // Last: it binds a policy to the socket's principal.
  it('push goes to a configured upstream only as the push rule admits, skips blobs it has, and pulls back by digest', async () => {
    const host = upstream.host;
    const id = await idOf('busybox:1.35');
    await ok(['tag', 'busybox:1.35', `${host}/team-a/box:1`]);
    await ok(['tag', 'busybox:1.35', `${host}/team-b/box:1`]);
    expect(await fails(['push', `${host}/team-a/box:1`])).toMatch(
      /policy baseline, rule push\.allowedDestinations/,
    );
    expect(await fails(['push', 'busybox:1.35'])).toMatch(/no configured upstream is registry 'docker\.io'/);

    const doc = {
      name: 'pushers',
      mode: 'enforce',
      rules: {
        images: { allowedRegistries: [host, ''] },
        push: { allowedDestinations: [{ upstreams: ['local'], repositories: ['team-a/*'] }] },
      },
    };
    const created = await api(w, 'POST', '/policies', { body: doc });
    await api(w, 'POST', '/policies/pushers/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/pushers/bindings', {
      body: { kind: 'principal', value: 'socket-admin' },
    });
    expect(await fails(['push', `${host}/team-b/box:1`])).toMatch(
      /team-b\/box.*rule push\.allowedDestinations/,
    );

    const first = await ok(['push', `${host}/team-a/box:1`]);
    expect(first).toMatch(/Pushed/);
    expect(first).toContain(`1: digest: ${id}`);
    const again = await ok(['push', `${host}/team-a/box:1`]);
    expect(again).toMatch(/Layer already exists/);
    expect(again).not.toMatch(/Pushed/);
    const head = await fetch(`${upstream.url}/v2/team-a/box/manifests/1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(head.headers.get('docker-content-digest')).toBe(id);
    const pushed = await event('image.pushed', (e) => e.subject === id && e.payload.uploaded > 0);
    expect(pushed.payload).toMatchObject({
      upstream: 'local',
      repository: 'team-a/box',
      tag: '1',
      skipped: 0,
    });

    // Pulled back through the proxy under that name: the same digest.
    await ok(['rmi', `${host}/team-a/box:1`]);
    await ok(['pull', `${host}/team-a/box:1`]);
    expect(await idOf(`${host}/team-a/box:1`)).toBe(id);
    // Its origin on the upstream lets another repository there link the blobs instead of uploading.
    await ok(['tag', 'busybox:1.35', `${host}/team-a/copy:1`]);
    const mounted = await ok(['push', `${host}/team-a/copy:1`]);
    expect(mounted).toMatch(/Mounted from team-a\/box/);
    expect(mounted).not.toMatch(/Pushed/);
  });
});
