/*
 * `warden image import|ls|inspect|rm` as a user runs it: the compiled command talking to a
 * running Warden over HTTP, for an OCI layout dir, an oci-archive and a docker-save tar.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerSave, ociArchive, writeOciLayout } from '../fixtures/images/archives';
import { busyboxImage, multiLayerImage } from '../fixtures/images/fixture-images';
import { BuiltImage } from '../fixtures/images/oci-image';
import { busyboxAvailable } from '../fixtures/rootfs/busybox-rootfs';
import { assertBuilt, cliEnv, ROOT } from '../utils/cli';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const describeBusybox = busyboxAvailable() ? describe : describe.skip;
if (!busyboxAvailable())
  console.warn('image CLI tests skipped: /bin/busybox missing (apt-get install busybox-static)');

let w: TestWarden;
let dir: string;
let busybox: BuiltImage;

/** Asynchronous on purpose: the Warden it talks to runs in this process and must keep serving. */
function warden(args: string[], env: Record<string, string> = { WARDEN_ADMIN_TOKEN: ADMIN_TOKEN }) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'warden.js'), ...args], { env: cliEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  assertBuilt();
  w = await startTestWarden();
  dir = mkdtempSync(join(tmpdir(), 'warden-image-cli-'));
  busybox = await busyboxImage({ gzip: true });
});
afterAll(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

describeBusybox('warden image', () => {
  it('imports an OCI layout directory, lists and inspects it, removes it', async () => {
    const layout = writeOciLayout(join(dir, 'layout'), busybox, 'busybox:layout');
    const imported = await warden(['image', 'import', layout, '--url', w.url]);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`Loaded image: busybox:layout ${busybox.manifest.digest} (oci-archive)\n`);

    const ls = await warden(['image', 'ls', '--url', w.url]);
    expect(ls.status).toBe(0);
    const [header, row] = ls.stdout.trim().split('\n');
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+PLATFORM\s+SIZE\s+IMPORTED$/);
    expect(row).toMatch(
      new RegExp(
        `^busybox\\s+layout\\s+${busybox.manifest.digest.slice(7, 19)}\\s+linux/\\w+\\s+[\\d.]+MB\\s+\\d{4}-`,
      ),
    );

    const inspect = await warden(['image', 'inspect', 'busybox:layout', '--url', w.url]);
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      digest: busybox.manifest.digest,
      config: { Cmd: ['sh'] },
    });

    const rm = await warden(['image', 'rm', 'busybox:layout', '--url', w.url]);
    expect(rm.stdout).toBe(`Untagged: busybox:layout\nDeleted: ${busybox.manifest.digest}\n`);
    expect((await api(w, 'GET', '/images')).body.images).toEqual([]);
  });

  it('imports an oci-archive and a docker-save tar, with --tag', async () => {
    const multi = await multiLayerImage();
    writeFileSync(join(dir, 'oci.tar'), await ociArchive(multi));
    writeFileSync(join(dir, 'save.tar'), await dockerSave(busybox, ['busybox:saved']));
    const a = await warden(['image', 'import', join(dir, 'oci.tar'), '--tag', 'multi:cli', '--url', w.url]);
    expect(a.stdout).toBe(`Loaded image: multi:cli ${multi.manifest.digest} (oci-archive)\n`);
    const b = await warden(['image', 'import', join(dir, 'save.tar'), '--url', w.url]);
    expect(b.stdout).toBe(`Loaded image: busybox:saved ${busybox.manifest.digest} (docker-save)\n`);
    const json = JSON.parse((await warden(['image', 'ls', '--json', '--url', w.url])).stdout);
    expect(json.map((i: any) => i.digest).sort()).toEqual(
      [multi.manifest.digest, busybox.manifest.digest].sort(),
    );
    await warden(['image', 'rm', multi.manifest.digest, 'busybox:saved', '--url', w.url]);
  });

  it('says what was wrong: a bad archive, no token, no server, no such image', async () => {
    writeFileSync(join(dir, 'junk.tar'), 'junk'.repeat(300));
    const bad = await warden(['image', 'import', join(dir, 'junk.tar'), '--url', w.url]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^warden: not a usable image archive/);

    const noToken = await warden(['image', 'ls', '--url', w.url], {});
    expect(noToken.stderr).toMatch(/set WARDEN_ADMIN_TOKEN or --token/);

    const down = await warden(['image', 'ls', '--url', 'http://127.0.0.1:9']);
    expect(down.stderr).toMatch(/cannot reach Warden at http:\/\/127.0.0.1:9/);

    const missing = await warden(['image', 'rm', 'nope:1', '--url', w.url]);
    expect(missing.stderr).toBe("warden: no image 'nope:1' here; 'warden image ls' lists the images\n");

    const usage = await warden(['image', 'frobnicate', '--url', w.url]);
    expect(usage.stderr).toMatch(/unknown image command 'frobnicate'/);
  });
});
