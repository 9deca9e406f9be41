import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  DOCKER_BIN,
  DockerCli,
  dockerOk,
  hasDockerCli,
  socketRequest,
  startDockerWarden,
} from '../utils/docker-cli';

const isRoot = process.getuid?.() === 0;
const ready = isRoot && hasDockerCli();
const suite = ready || process.env.CI ? describe : describe.skip;
if (!ready)
  console.warn(
    `docker cp race e2e ${process.env.CI ? 'will fail' : 'skipped'}: needs root and ${DOCKER_BIN}`,
  );

const BB = 'busybox:1.35';
const CLI_ROUNDS = Number(process.env.CP_RACE_CLI_ROUNDS ?? 25);
const API_ROUNDS = Number(process.env.CP_RACE_API_ROUNDS ?? 300);

// Swaps /w/d (a directory) and /w/l (a symlink to the host's canary directory) with
// renameat2(RENAME_EXCHANGE) as fast as it can: at any instant /w/d is one or the other. The
// exploit of CVE-2018-15664: a daemon that checks /w/d and then uses the path string follows the
// symlink on the host side.
const SWAPPER = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
int main(void) {
  for (;;) renameat2(AT_FDCWD, "/w/d", AT_FDCWD, "/w/l", RENAME_EXCHANGE);
}
`;

suite('docker cp against a symlink swapped during the copy (CVE-2018-15664)', () => {
  let docker: DockerCli;
  let tmp: string;
  let socket: string;
  let close: () => Promise<void>;
  let canary: string;

  beforeAll(async () => {
    ({ docker, tmp, socket, close } = await startDockerWarden(`cp-race-${process.pid}`));
    // The host directory the container's symlink names: what a followed link would reach.
    canary = fs.mkdtempSync('/tmp/warden-cp-race-canary-');
    fs.writeFileSync(path.join(canary, 'secret'), 'HOST-SECRET\n');
    fs.writeFileSync(path.join(tmp, 'swapper.c'), SWAPPER);
    execFileSync('gcc', ['-static', '-O2', '-o', path.join(tmp, 'swapper'), path.join(tmp, 'swapper.c')]);
  });
  afterAll(async () => {
    await close?.();
    if (canary) fs.rmSync(canary, { recursive: true, force: true });
  });

  const ok = (args: string[]) => dockerOk(docker, args);

  it('never reads or writes outside the root, both ways, while a process swaps a directory for a link', async () => {
    const name = 'race';
    await ok([
      'run',
      '-d',
      '--name',
      name,
      BB,
      'sh',
      '-c',
      `mkdir -p /w/d && echo inside > /w/d/secret && ln -s ${canary} /w/l && ` +
        'while [ ! -x /w/swapper ]; do sleep 0.05; done; exec /w/swapper',
    ]);
    await ok(['cp', path.join(tmp, 'swapper'), `${name}:/w/swapper`]);
    // The swap is running once /w/d has been seen both ways.
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const r = await socketRequest(socket, 'HEAD', `/containers/${name}/archive?path=/w/d`);
      if (r.status === 200) {
        const stat = JSON.parse(
          Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString(),
        );
        seen.add(stat.linkTarget ? 'link' : 'dir');
      }
    }
    expect([...seen].sort()).toEqual(['dir', 'link']);

    let readInside = 0;
    let wroteInside = 0;
    const payload = path.join(tmp, 'payload');
    fs.writeFileSync(payload, 'PAYLOAD\n');
    const tarFile = path.join(tmp, 'payload.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', tmp, 'payload']);
    const tarBody = fs.readFileSync(tarFile);

    // Out, with the real CLI and straight through the API (many more tries per second).
    for (let i = 0; i < CLI_ROUNDS; i++) {
      const out = path.join(tmp, `out-${i}`);
      const r = await docker.run(['cp', `${name}:/w/d/secret`, out]);
      if (r.code === 0) {
        const got = fs.readFileSync(out, 'utf8');
        expect(got).not.toContain('HOST-SECRET');
        expect(got).toBe('inside\n');
        readInside++;
      }
    }
    for (let i = 0; i < API_ROUNDS; i++) {
      const r = await socketRequest(socket, 'GET', `/containers/${name}/archive?path=/w/d/secret`);
      expect(r.body).not.toContain('HOST-SECRET');
      if (r.status === 200 && r.body.includes('inside\n')) readInside++;
      else expect([404, 400]).toContain(r.status);
    }
    // A whole-directory copy too: tar descends below the swapped name.
    for (let i = 0; i < API_ROUNDS / 3; i++) {
      const r = await socketRequest(socket, 'GET', `/containers/${name}/archive?path=/w`);
      expect(r.body).not.toContain('HOST-SECRET');
    }

    // In: the copy's destination is the swapped directory.
    for (let i = 0; i < CLI_ROUNDS; i++) {
      const r = await docker.run(['cp', payload, `${name}:/w/d/`]);
      if (r.code === 0) wroteInside++;
    }
    for (let i = 0; i < API_ROUNDS; i++) {
      const status = await putTar(socket, `/containers/${name}/archive?path=/w/d`, tarBody);
      if (status === 200) wroteInside++;
      else expect([404, 400]).toContain(status);
    }

    // Nothing outside the root was written: the canary directory is as it was.
    expect(fs.readdirSync(canary)).toEqual(['secret']);
    expect(fs.readFileSync(path.join(canary, 'secret'), 'utf8')).toBe('HOST-SECRET\n');
    // And the race was real: copies went through while the swap ran, both ways.
    expect(readInside).toBeGreaterThan(0);
    expect(wroteInside).toBeGreaterThan(0);
    // The payload is somewhere under /w: in the directory (at /w/d or /w/l, as the swap has
    // it), or as /w/d itself — a `docker cp` whose stat saw the link names a new file `d` in
    // /w, and extraction replaces an entry of another type, as Docker's does. Files only: find
    // does not follow the link. The swap still runs, so look a few times.
    const inside = await ok([
      'exec',
      name,
      'sh',
      '-c',
      'for i in $(seq 1 50); do find /w -type f ! -name swapper -exec cat {} + 2>/dev/null; done | grep -m1 PAYLOAD; true',
    ]);
    if (!inside.includes('PAYLOAD'))
      throw new Error(
        `no payload inside after ${wroteInside} writes: ${await ok(['exec', name, 'sh', '-c', 'pkill swapper; sleep 0.2; ls -laR /w 2>&1; true'])}`,
      );
    console.log(
      `cp race: ${readInside} reads and ${wroteInside} writes landed inside; ` +
        `${CLI_ROUNDS * 2} docker cp and ${API_ROUNDS * 2 + API_ROUNDS / 3} API copies in all`,
    );
    await ok(['rm', '-f', name]);
  });
});

function putTar(socketPath: string, p: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, method: 'PUT', path: p, headers: { host: 'd', 'content-type': 'application/x-tar' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
