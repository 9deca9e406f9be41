import type { CgroupDriver } from '../../src/runtime/cgroups';
import { CGROUP_DRIVER } from '../../src/runtime/container/runtime.tokens';
import { importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/** The value of one series of a metric in Prometheus text format, or undefined. */
function series(text: string, metric: string, name: string): { labels: string; value: number } | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`name="${name}"`));
  if (!line) return undefined;
  const m = /^[a-z_]+\{(.*)\} (\S+)$/.exec(line);
  return m ? { labels: m[1], value: Number(m[2]) } : undefined;
}

/**
 * A running container's usage on /metrics under cAdvisor's names and labels, from the real
 * cgroup through the sampler, the queue and PostgreSQL.
 */
describe('container metrics for Prometheus, as cAdvisor names them', () => {
  let w: TestWarden;
  beforeAll(async () => {
    w = await startTestWarden('up', {
      WARDEN_CGROUP_PARENT: `warden-metrics-test-${process.pid}`,
      WARDEN_USAGE_INTERVAL: '1',
    });
    await importBusybox(w);
  });
  afterAll(async () => {
    const cgroups = w.app.get<CgroupDriver>(CGROUP_DRIVER);
    await w.close();
    await cgroups.removeParent();
  });

  it('exposes cpu, memory, limits and processes of a running container with name, image and team labels, and drops it when it stops', async () => {
    const name = `busy-${process.pid}`;
    const created = await api(w, 'POST', '/containers', {
      body: {
        image: 'busybox:1.35',
        name,
        memory: '64m',
        cpus: 0.5,
        labels: { team: 'payments' },
        cmd: ['sh', '-c', 'while :; do :; done'],
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);

    const text = await eventually('two samples of the running container on /metrics', async () => {
      const t = (await api(w, 'GET', '/metrics', { token: null })).body as string;
      const cpu = series(t, 'container_cpu_usage_seconds_total', name);
      return cpu && cpu.value > 0.2 ? t : undefined;
    });
    const cpu = series(text, 'container_cpu_usage_seconds_total', name)!;
    expect(cpu.labels).toBe(
      `id="/warden/${id}",name="${name}",image="busybox:1.35",team="payments",container_label_team="payments"`,
    );
    expect(text).toMatch(/# TYPE container_cpu_usage_seconds_total counter/);
    expect(text).toMatch(/# TYPE container_memory_working_set_bytes gauge/);
    expect(series(text, 'container_spec_memory_limit_bytes', name)?.value).toBe(64 * 1024 ** 2);
    expect(series(text, 'container_spec_cpu_quota', name)?.value).toBe(50_000);
    expect(series(text, 'container_spec_cpu_period', name)?.value).toBe(100_000);
    const ws = series(text, 'container_memory_working_set_bytes', name)!.value;
    const usage = series(text, 'container_memory_usage_bytes', name)!.value;
    expect(ws).toBeGreaterThan(0);
    expect(ws).toBeLessThanOrEqual(usage);
    expect(usage).toBeLessThanOrEqual(64 * 1024 ** 2);
    expect(series(text, 'container_processes', name)?.value).toBeGreaterThanOrEqual(1);
    expect(series(text, 'container_oom_events_total', name)?.value).toBe(0);

    expect((await api(w, 'POST', `/containers/${id}/kill`)).status).toBe(204);
    await eventually('the stopped container gone from /metrics', async () => {
      const t = (await api(w, 'GET', '/metrics', { token: null })).body as string;
      return series(t, 'container_cpu_usage_seconds_total', name) === undefined;
    });
    await api(w, 'DELETE', `/containers/${id}`);
  });
});
