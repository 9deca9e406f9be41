/*
 * A push of a blob bigger than WARDEN_REGISTRY_PUSH_CHUNK_SIZE goes to the upstream in PATCH
 * chunks (the distribution spec's chunked upload), not one PUT: through the real docker CLI to
 * Debian's docker-registry, with a recording relay in between that sees each request.
 */
import { randomBytes, createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { dockerCliSuite, dockerOk, DockerCli, startDockerWarden } from '../utils/docker-cli';
import { DockerRegistry, startDockerRegistry } from '../utils/registry';
import { eventually } from '../utils/services';
import { api, socketAsAdmin, TestWarden } from '../utils/warden';

const CHUNK = 64 * 1024;

interface Seen {
  method: string;
  path: string;
  range?: string;
  length: number;
}

dockerCliSuite('docker push in chunks')('docker push of a big blob in PATCH chunks', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let tmp: string;
  let close: () => Promise<void>;
  let upstream: DockerRegistry;
  let relay: http.Server;
  let relayHost: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    // Forwards everything to docker-registry as it is, and notes each request's method and size.
    relay = http.createServer((req, res) => {
      let length = 0;
      req.on('data', (d: Buffer) => (length += d.length));
      const up = http.request(
        `${upstream.url}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: upstream.host } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.on('end', () =>
        seen.push({
          method: req.method ?? '',
          path: (req.url ?? '').split('?')[0],
          range: req.headers['content-range'],
          length,
        }),
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    relayHost = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
    ({ w, docker, tmp, close } = await startDockerWarden(`push-chunks-${process.pid}`, {
      WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${relayHost}`,
      WARDEN_REGISTRY_PUSH_CHUNK_SIZE: '64k',
    }));
    // The CLI acts as an admin bound to the push policy below (team scoping is not the point here).
    await socketAsAdmin(w);
  });
  afterAll(async () => {
    await close?.();
    relay?.close();
    await upstream?.stop();
  });

  const ok = (args: string[]) => dockerOk(docker, args);

  it('sends a layer of ~20 chunks as PATCHes with their ranges, closes it with the digest, and pulls back the same bytes', async () => {
    // A layer of incompressible bytes: whatever the store keeps, it is well over one chunk.
    const root = path.join(tmp, 'rootfs');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'noise'), randomBytes(20 * CHUNK + 1234));
    const tarFile = path.join(tmp, 'rootfs.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', root, '.']);
    const ref = `${relayHost}/team-a/big:1`;
    await ok(['import', tarFile, ref]);
    const id = (await ok(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();

    const created = await api(w, 'POST', '/policies', {
      body: {
        name: 'pushers',
        mode: 'enforce',
        rules: { push: { allowedDestinations: [{ upstreams: ['local'], repositories: ['team-a/*'] }] } },
      },
    });
    expect(created.status).toBe(201);
    await api(w, 'POST', '/policies/pushers/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/pushers/bindings', {
      body: { kind: 'principal', value: 'socket-admin' },
    });

    const out = await ok(['push', ref]);
    expect(out).toMatch(/Pushed/);
    expect(out).toContain(`1: digest: ${id}`);

    // The upstream got the big layer as PATCH chunks with contiguous ranges, then an empty PUT.
    const patches = seen.filter((s) => s.method === 'PATCH');
    expect(patches.length).toBeGreaterThanOrEqual(20);
    // One upload session per blob (its path): its chunks cover 0..n contiguously, none over the size.
    const sessions = new Map<string, Seen[]>();
    for (const p of patches) sessions.set(p.path, [...(sessions.get(p.path) ?? []), p]);
    for (const chunks of sessions.values()) {
      let next = 0;
      for (const c of chunks) {
        const [start, end] = (c.range ?? '').split('-').map(Number);
        expect(start).toBe(next);
        expect(end - start + 1).toBe(c.length);
        expect(c.length).toBeLessThanOrEqual(CHUNK);
        next = end + 1;
      }
    }
    const closes = seen.filter((s) => s.method === 'PUT' && s.path.includes('/blobs/uploads/'));
    expect(closes.some((c) => c.length === 0)).toBe(true);

    // Every layer on the upstream hashes to its digest, and the manifest is the image's.
    const manifest = (await (
      await fetch(`${upstream.url}/v2/team-a/big/manifests/1`, {
        headers: {
          accept:
            'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      })
    ).json()) as { layers: Array<{ size: number; digest: string }> };
    const big = manifest.layers.find((l) => l.size > CHUNK)!;
    expect(big).toBeDefined();
    const blob = Buffer.from(
      await (await fetch(`${upstream.url}/v2/team-a/big/blobs/${big.digest}`)).arrayBuffer(),
    );
    expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(big.digest);
    const pushed = await eventually('the image.pushed event', async () =>
      (
        (await api(w, 'GET', '/audit/events?type=image.pushed&limit=50')).body.events as Array<{
          subject: string;
          payload: { chunked: number };
        }>
      ).find((e) => e.subject === id),
    );
    expect(pushed.payload.chunked).toBeGreaterThanOrEqual(1);

    // Pulled back through the proxy: the same digest.
    await ok(['rmi', ref]);
    await ok(['pull', ref]);
    expect((await ok(['image', 'inspect', '--format', '{{.Id}}', ref])).trim()).toBe(id);
  });
});
