import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerSave } from '../fixtures/images/archives';
import { busyboxImage } from '../fixtures/images/fixture-images';
import { ADMIN_TOKEN, api } from './warden';

/** Imports the fixture busybox image (built in code, reproducible) as `busybox:1.35`. */
export async function importBusybox(w: { url: string }, tag = 'busybox:1.35'): Promise<string> {
  const tar = await dockerSave(await busyboxImage(), [tag]);
  const r = await fetch(`${w.url}/images/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-tar' },
    body: tar,
  });
  const body = (await r.json()) as { images: Array<{ digest: string }> };
  if (r.status !== 201) throw new Error(`import failed: ${r.status} ${JSON.stringify(body)}`);
  return body.images[0].digest;
}

export interface RunResult {
  id: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  inspect: any;
}

/** create → start → wait(next-exit, registered before start) → logs → inspect, over REST. */
export async function runContainer(
  w: { url: string },
  body: Record<string, unknown>,
  token?: string,
): Promise<RunResult> {
  const created = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', ...body }, token });
  if (created.status !== 201)
    throw Object.assign(new Error(`create: ${created.status} ${JSON.stringify(created.body)}`), {
      response: created,
    });
  const id = created.body.id as string;
  const waited = api(w, 'POST', `/containers/${id}/wait?condition=next-exit`, { token });
  const started = await api(w, 'POST', `/containers/${id}/start`, { token });
  if (started.status !== 200)
    throw Object.assign(new Error(`start: ${started.status} ${JSON.stringify(started.body)}`), {
      response: started,
    });
  const exit = await waited;
  const logs = await api(w, 'GET', `/containers/${id}/logs`, { token });
  // NDJSON; a single line parses as one JSON object in api().
  const entries: Array<{ stream: string; log: string }> =
    typeof logs.body === 'string'
      ? logs.body
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [logs.body];
  const inspect = (await api(w, 'GET', `/containers/${id}`, { token })).body;
  return {
    id,
    exitCode: exit.body.statusCode,
    stdout: entries
      .filter((e) => e.stream === 'stdout')
      .map((e) => e.log)
      .join(''),
    stderr: entries
      .filter((e) => e.stream === 'stderr')
      .map((e) => e.log)
      .join(''),
    inspect,
  };
}

/** Every cgroup directory named after a container id, across the v1 hierarchies. */
export function cgroupDirsFor(id: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = `${dir}/${e.name}`;
      if (e.name === id) found.push(p);
      else if (
        depth === 0 ||
        e.name.startsWith('warden') ||
        e.name === 'process_api' ||
        /^[0-9a-f-]{8,}/.test(e.name)
      )
        walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** Pids in the container's cgroup (the v1 pids hierarchy, or v2's single tree), or [] when it has none. */
export function cgroupPids(id: string): number[] {
  for (const dir of cgroupDirsFor(id)) {
    const file = ['cgroup.procs', 'tasks'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) continue;
    const pids = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    if (pids.length) return pids;
  }
  return [];
}
