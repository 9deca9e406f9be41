/*
 * Images made by ordinary tools run (issue 17 point 4): a Debian bookworm + Python root
 * filesystem from mmdebstrap, device nodes under /dev and all, runs through the real docker
 * CLI; device nodes elsewhere in an image are a policy decision (images.allowDeviceNodes).
 */
import { busyboxLayerTar } from '../fixtures/images/fixture-images';
import { dockerSave } from '../fixtures/images/archives';
import { buildImage, tarOf } from '../fixtures/images/oci-image';
import { debianRootfsTar, debianSuite, importDebian } from '../fixtures/images/debian-image';
import { DockerCli, dockerFails, dockerOk, startDockerWarden } from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, TestWarden } from '../utils/warden';

interface AuditEvent {
  type: string;
  subject: string;
  decision?: string;
  payload: Record<string, any>;
}

debianSuite('a Debian image made with mmdebstrap through the real docker CLI')(
  'Debian + Python image',
  () => {
    let w: TestWarden;
    let docker: DockerCli;
    let close: () => Promise<void>;

    beforeAll(async () => {
      const built = await debianRootfsTar();
      // The build time of the cached rootfs (once per day and package list), for the record.
      console.log(`debian fixture: mmdebstrap took ${built.buildSeconds.toFixed(1)} s when it was built`);
      ({ w, docker, close } = await startDockerWarden(`h-images-debian-${process.pid}`));
      await importDebian(w);
    }, 20 * 60_000);
    afterAll(() => close?.());

    const ok = (args: string[]) => dockerOk(docker, args);
    // Audit events are committed by the queue's worker: wait for the one looked for.
    const event = (type: string, match: (e: AuditEvent) => boolean) =>
      eventually(`a ${type} event`, async () =>
        ((await api(w, 'GET', `/audit/events?type=${type}&limit=500`)).body.events as AuditEvent[]).find(
          match,
        ),
      );

    it('runs Python on glibc with Debian users and /etc; the image /dev nodes are left out and noted', async () => {
      const out = await ok([
        'run',
        '--name',
        'py',
        'debian-python:test',
        'python3',
        '-c',
        'import platform, pwd, sys; print(platform.libc_ver()[0], sys.version_info[0], pwd.getpwnam("nobody").pw_uid)',
      ]);
      expect(out.trim()).toBe('glibc 3 65534');
      expect((await ok(['run', '--rm', 'debian-python:test', 'cat', '/etc/debian_version'])).trim()).toMatch(
        /^12\./,
      );
      // The container's own /dev, not the image's nodes: /dev/null works, /dev/console is not the host's.
      expect(
        (
          await ok(['run', '--rm', 'debian-python:test', 'sh', '-c', 'echo gone > /dev/null && echo ok'])
        ).trim(),
      ).toBe('ok');
      const created = await event('container.created', (e) => e.payload.name === 'py');
      expect(created.payload.skippedDeviceNodes).toEqual(expect.arrayContaining(['dev/console', 'dev/null']));
      await ok(['rm', 'py']);
    });

    // Last: it binds a policy to the socket's principal.
    it('a device node outside /dev is refused by baseline, naming the rule, and runs once a policy allows it', async () => {
      const odd = await tarOf([
        { name: 'usr/', type: 'directory' },
        { name: 'usr/mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o600 },
      ]);
      const archive = await dockerSave(buildImage({ layers: [await busyboxLayerTar(), odd] }), ['odd:1']);
      const imported = await fetch(`${w.url}/images/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-tar' },
        body: archive,
      });
      expect(imported.status).toBe(201);
      const denied = await dockerFails(docker, ['run', '--rm', 'odd:1', 'true']);
      expect(denied).toMatch(
        /device nodes or fifos outside \/dev \(usr\/mem\).*policy baseline, rule images\.allowDeviceNodes/,
      );
      const decision = await event('policy.decision', (e) => e.payload.action === 'image.content');
      expect(decision).toMatchObject({
        decision: 'denied',
        payload: { image: { deviceNodes: ['usr/mem'] } },
      });
      expect(await ok(['ps', '-a', '--format', '{{.Image}}'])).not.toMatch(/odd:1/);

      const doc = { name: 'devices-ok', mode: 'enforce', rules: { images: { allowDeviceNodes: true } } };
      const created = await api(w, 'POST', '/policies', { body: doc });
      await api(w, 'POST', '/policies/devices-ok/activate', { body: { versionId: created.body.id } });
      await api(w, 'POST', '/policies/devices-ok/bindings', {
        body: { kind: 'principal', value: 'docker-root' },
      });
      expect((await ok(['run', '--rm', 'odd:1', 'echo', 'ran'])).trim()).toBe('ran');
    });
  },
);
