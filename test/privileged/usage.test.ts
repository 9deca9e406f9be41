import { Client } from 'pg';
import type { CgroupDriver } from '../../src/runtime/cgroups';
import { CGROUP_DRIVER } from '../../src/runtime/container/runtime.tokens';
import { importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Usage records end to end (issue 4 "Usage"): the sampler reads the real cgroup every second,
 * the worker stores samples in Postgres, the exit path adds the final totals, and the hourly
 * view rolls them up per label.
 */
describe('usage sampling (real cgroups, queue and Postgres)', () => {
  let w: TestWarden;
  let db: Client;
  beforeAll(async () => {
    w = await startTestWarden('up', {
      WARDEN_CGROUP_PARENT: `warden-usage-test-${process.pid}`,
      WARDEN_USAGE_INTERVAL: '1',
    });
    await importBusybox(w);
    db = new Client({ connectionString: w.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    // The test's own cgroup parent goes too once its containers are gone.
    const cgroups = w.app.get<CgroupDriver>(CGROUP_DRIVER);
    await w.close();
    await cgroups.removeParent();
  });

  it('samples a busy container every second with rising CPU, then records its totals at exit and rolls them up per label', async () => {
    const labels = { team: `payments-${process.pid}`, 'cost-centre': 'c42' };
    // About 4 s of a busy shell loop: several samples, each with more CPU than the last.
    const r = await runContainer(w, {
      labels,
      cmd: ['sh', '-c', 'end=$(( $(date +%s) + 4 )); while [ $(date +%s) -lt $end ]; do :; done'],
    });
    expect(r.exitCode).toBe(0);

    const rows = await eventually('the final usage record', async () => {
      const q = await db.query(
        `SELECT final, cpu_ns::float8 AS cpu, cpu_user_ns::float8 AS usr, cpu_system_ns::float8 AS sys,
                memory_bytes::float8 AS mem, working_set_bytes::float8 AS ws, memory_peak_bytes::float8 AS peak,
                pids, oom_kills, labels, container_name, image
           FROM usage_samples WHERE container_id = $1 ORDER BY sampled_at, final`,
        [r.id],
      );
      return q.rows.some((x) => x.final) ? q.rows : undefined;
    });
    const samples = rows.filter((x) => !x.final);
    const final = rows[rows.length - 1];
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(rows.filter((x) => x.final)).toHaveLength(1);
    for (let i = 1; i < samples.length; i++)
      expect(samples[i].cpu).toBeGreaterThanOrEqual(samples[i - 1].cpu);
    expect(samples[samples.length - 1].cpu).toBeGreaterThan(samples[0].cpu);
    expect(samples[0]).toMatchObject({ labels, container_name: r.inspect.name, image: 'busybox:1.35' });
    expect(samples.every((s) => s.pids >= 1 && s.mem > 0 && s.ws <= s.mem)).toBe(true);

    expect(final.final).toBe(true);
    expect(final.cpu).toBeGreaterThanOrEqual(samples[samples.length - 1].cpu);
    expect(final.cpu).toBeGreaterThan(1e9); // a busy loop for ~4 s: well over a CPU-second
    expect(final.usr + final.sys).toBeGreaterThan(0);
    expect(final.peak).toBeGreaterThan(0);
    expect(final.oom_kills).toBe(0);

    const viaApi = await api(w, 'GET', `/containers/${r.id}/usage`);
    expect(viaApi.status).toBe(200);
    expect(viaApi.body.final).toMatchObject({ containerId: r.id, final: true, cpuNs: final.cpu });
    expect(viaApi.body.samples.length).toBe(rows.length);

    const rollup = await api(w, 'GET', `/usage?label=${encodeURIComponent(`team=${labels.team}`)}`);
    expect(rollup.status).toBe(200);
    const cpuSeconds = rollup.body.rollups.reduce(
      (t: number, x: { cpuSeconds: number }) => t + x.cpuSeconds,
      0,
    );
    expect(rollup.body.rollups[0]).toMatchObject({ label: 'team', value: labels.team, containers: 1 });
    // The deltas of one run add up to its final total.
    expect(cpuSeconds).toBeCloseTo(final.cpu / 1e9, 6);
    const byCostCentre = await api(w, 'GET', '/usage?label=cost-centre');
    expect(byCostCentre.body.rollups.some((x: { value: string }) => x.value === 'c42')).toBe(true);
  });

  it('rollups are for admins and auditors; a removed container keeps its usage, which they read (a deployer outside its team gets 404)', async () => {
    const tokenFor = async (id: string, role: string) => {
      expect((await api(w, 'POST', '/principals', { body: { id, role, teams: [] } })).status).toBe(201);
      return (await api(w, 'POST', '/tokens', { body: { principalId: id, name: 't' } })).body.token as string;
    };
    const deployer = await tokenFor('dana', 'deployer');
    const auditor = await tokenFor('erin', 'auditor');

    const r = await runContainer(w, { autoRemove: true, labels: { team: 'short' }, cmd: ['true'] });
    const usage = await eventually('final record of a removed container', async () => {
      const u = await api(w, 'GET', `/containers/${r.id}/usage`, { token: auditor });
      return u.status === 200 && u.body.final ? u.body : undefined;
    });
    expect(usage.final).toMatchObject({ containerId: r.id, final: true, labels: { team: 'short' } });
    // Team scoping (docs/security.md): the row that said whose it was is gone, and it was not dana's.
    expect((await api(w, 'GET', `/containers/${r.id}/usage`, { token: deployer })).status).toBe(404);
    expect((await api(w, 'GET', `/containers/${'0'.repeat(64)}/usage`)).status).toBe(404);

    expect((await api(w, 'GET', '/usage?label=team', { token: auditor })).status).toBe(200);
    expect((await api(w, 'GET', '/usage', { token: deployer })).status).toBe(403);
    expect((await api(w, 'GET', '/usage', { token: null })).status).toBe(401);
  });

  it('samples the bytes its volumes hold: a sized one by statfs of its filesystem, a plain one by du; the console shows them', async () => {
    const sized = `sized-${process.pid}`;
    const plain = `plain-${process.pid}`;
    expect(
      (await api(w, 'POST', '/volumes', { body: { name: sized, options: { size: '32m' } } })).status,
    ).toBe(201);
    expect((await api(w, 'POST', '/volumes', { body: { name: plain } })).status).toBe(201);
    const MiB = 1024 ** 2;
    const r = await runContainer(w, {
      volumes: [`${sized}:/s`, `${plain}:/p`],
      // 3 MiB in the sized volume and 5 in the plain one, then time for samples past the reuse of
      // the plain one's du (six ticks of 1 s).
      cmd: [
        'sh',
        '-c',
        'dd if=/dev/urandom of=/s/f bs=1M count=3 && dd if=/dev/urandom of=/p/f bs=1M count=5 && sleep 8',
      ],
    });
    expect(r.exitCode).toBe(0);
    const q = await eventually('a sample with volume bytes, and the final one', async () => {
      const rows = await db.query(
        `SELECT final, volume_bytes::float8 AS total, volumes FROM usage_samples
          WHERE container_id = $1 ORDER BY final DESC, sampled_at DESC`,
        [r.id],
      );
      const sampled = rows.rows.find((x) => !x.final && x.volumes?.[plain] >= 5 * MiB);
      return rows.rows[0]?.final && sampled ? { rows: [sampled], final: rows.rows[0] } : undefined;
    });
    expect(q.rows).toHaveLength(1);
    const { total, volumes } = q.rows[0];
    // du counts the plain volume's blocks; statfs the sized filesystem's used blocks (its journal too).
    expect(volumes[plain]).toBeGreaterThanOrEqual(5 * MiB);
    expect(volumes[plain]).toBeLessThan(6 * MiB);
    expect(volumes[sized]).toBeGreaterThanOrEqual(3 * MiB);
    expect(volumes[sized]).toBeLessThan(32 * MiB);
    expect(total).toBe(volumes[plain] + volumes[sized]);
    // The final sample (at exit) carries none: only the sampler measures volumes.
    expect(q.final.total).toBeNull();
    const usage = await api(w, 'GET', '/console/usage?by=image');
    const mine = usage.body.containers.find((c: { containerId: string }) => c.containerId === r.id);
    expect(mine.volumeBytes).toBe(total);
  });
});
