/**
 * Claim (issue 13, point 4): the embedded redis-server's `appendfsync always` (an acknowledged
 * enqueue survives kill -9 of redis-server) and what it costs a launch, against `everysec`
 * (up to a second of acknowledged jobs lost on kill -9, measured: 36 audit events).
 *
 * One Warden (embedded PostgreSQL and redis-server, `up` role in this process); the fsync
 * policy is switched at run time (CONFIG SET) between rounds, interleaved, so both modes see
 * the same host load. Rows: a REST launch cycle (create, wait, start, remove of /bin/true),
 * and one audit event's enqueue (AuditService.record: until Redis acknowledged it).
 *
 *     bench/run.sh redis-fsync            (ROUNDS=4 LAUNCHES=30 EVENTS=200)
 */
import Redis from 'ioredis';
import { AuditService } from '../src/audit';
import { ioredisOptions } from '../src/platform/queue';
import { IMAGE, startBenchWarden, summary } from './lib/bench-warden';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const LAUNCHES = Number(process.env.LAUNCHES ?? 30);
const EVENTS = Number(process.env.EVENTS ?? 200);

async function main(): Promise<void> {
  const w = await startBenchWarden();
  const redis = new Redis(ioredisOptions(w.warden.infra.redis));
  const audit = w.warden.app.get(AuditService);
  const results: Record<string, { launch: number[]; enqueue: number[] }> = {
    everysec: { launch: [], enqueue: [] },
    always: { launch: [], enqueue: [] },
  };
  const launch = async () => {
    const t0 = performance.now();
    const created = await w.call('POST', '/containers', { image: IMAGE, cmd: ['/bin/true'] });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    const waited = w.call('POST', `/containers/${id}/wait?condition=next-exit`);
    const started = await w.call('POST', `/containers/${id}/start`);
    if (started.status !== 200) throw new Error(`start: ${started.status}`);
    await waited;
    const ms = performance.now() - t0;
    await w.call('DELETE', `/containers/${id}`);
    return ms;
  };
  try {
    for (let i = 0; i < 10; i++) await launch(); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['everysec', 'always'] as const) {
        await redis.config('SET', 'appendfsync', mode);
        for (let i = 0; i < LAUNCHES; i++) results[mode].launch.push(await launch());
        for (let i = 0; i < EVENTS; i++) {
          const t0 = performance.now();
          await audit.record({
            type: 'api.call',
            principal: 'bench',
            source: { via: 'system' },
            payload: { i },
          });
          results[mode].enqueue.push(performance.now() - t0);
        }
      }
    }
    const fmt = (n: number) => n.toFixed(2).padStart(8);
    console.log(
      `load ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log('row                                  appendfsync   median ms   p95 ms     n');
    for (const [row, key] of [
      ['REST launch cycle (create+start+wait)', 'launch'],
      ['audit event enqueue (acknowledged)   ', 'enqueue'],
    ] as const) {
      for (const mode of ['everysec', 'always'] as const) {
        const s = summary(results[mode][key]);
        console.log(`${row} ${mode.padEnd(10)} ${fmt(s.median)} ${fmt(s.p95)} ${String(s.n).padStart(5)}`);
      }
    }
  } finally {
    await redis.config('SET', 'appendfsync', 'always').catch(() => undefined);
    redis.disconnect();
    await w.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
