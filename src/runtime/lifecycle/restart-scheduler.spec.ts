import type { AuditService } from '../../audit';
import type { ContainerRecord } from '../container/container';
import type { ContainerRepository } from '../container/container.repository';
import { ContainerLocks } from './container-locks';
import type { ContainerRefs } from './container-refs';
import { RestartScheduler } from './restart-scheduler';

/**
 * The scheduler's gate (RestartScheduler.hold): at Warden's start a restart of an exit recorded
 * by recovery waits for recovery's sweep, and the policy's own start at boot does not start it a
 * second time. The row lives in a map; the starter marks it running, as StartVerb's start does.
 */
describe('RestartScheduler: restarts held until recovery has swept', () => {
  const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

  function scheduler() {
    const rows = new Map<string, Pick<ContainerRecord, 'id' | 'state'>>();
    const repo = { get: async (id: string) => rows.get(id) } as unknown as ContainerRepository;
    const s = new RestartScheduler(repo, new ContainerLocks(), {} as ContainerRefs, {} as AuditService);
    const started: string[] = [];
    s.starter = async (c) => {
      await tick(); // a start takes a while: the window where another fire could come
      started.push(c.id);
      rows.set(c.id, { id: c.id, state: 'running' });
    };
    /** A hold on the scheduler, as recovery takes one: opened by `open`, or by `fail`. */
    const hold = () => {
      const gate = { open: () => {}, fail: (_: Error) => {} };
      s.hold(new Promise<void>((resolve, reject) => Object.assign(gate, { open: resolve, fail: reject })));
      return gate;
    };
    return { s, rows, started, hold };
  }
  /** A restarting container whose restart is past its delay while recovery holds restarts. */
  const waiting = (id: string) => {
    const t = scheduler();
    t.rows.set(id, { id, state: 'restarting' });
    const gate = t.hold();
    t.s.schedule(id, 0);
    return { ...t, gate };
  };

  it('starts nothing before the held promise settles, then starts it once', async () => {
    const { s, started, gate } = waiting('a');
    await tick(50);
    expect(started).toEqual([]);
    expect(s.pending('a')).toBe(true); // past its delay, still waiting: pending
    // Recovery's boot start meets it pending and leaves it (RecoveryService.startByPolicy).
    gate.open();
    await tick(60);
    expect(started).toEqual(['a']);
    expect(s.pending('a')).toBe(false);
  });

  it('a boot start scheduled beside a waiting restart starts the container once', async () => {
    const { s, started, gate } = waiting('b');
    await tick();
    s.schedule('b', 0, true);
    gate.open();
    await tick(100);
    expect(started).toEqual(['b']);
  });

  it('a failed recovery opens the gate too', async () => {
    const { started, gate } = waiting('c');
    await tick(50);
    expect(started).toEqual([]);
    gate.fail(new Error('recovery failed'));
    await tick(60);
    expect(started).toEqual(['c']);
  });

  it('without a hold, a restart starts after its delay', async () => {
    const { s, rows, started } = scheduler();
    rows.set('d', { id: 'd', state: 'restarting' });
    s.schedule('d', 0);
    await tick(60);
    expect(started).toEqual(['d']);
  });
});
