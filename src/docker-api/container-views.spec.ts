import { minimalSpec } from '../policy/testing/fixtures';
import type { ContainerRecord } from '../runtime';
import { inspectContainer, summarizeContainer } from './container-views';

const record = (over: Partial<ContainerRecord> = {}): ContainerRecord => ({
  id: 'c'.repeat(64),
  name: 'web',
  image: 'docker.io/library/busybox:1.35',
  spec: minimalSpec(),
  options: { autoRemove: false, openStdin: false },
  state: 'running',
  pid: 4242,
  node: 'node-b',
  oomKilled: false,
  restartCount: 0,
  manuallyStopped: false,
  createdBy: 'admin',
  team: null,
  createdAt: '2026-12-03T10:00:00.000Z',
  startedAt: '2026-12-03T10:00:01.000Z',
  labels: {},
  ...over,
});

// Issue 18: a down node's live containers are unknown in docker ps and inspect (computed, not stored).
describe('docker views of a container whose node is down', () => {
  const down = new Set(['node-b']);

  it('ps: State unknown and a status that names the node and the last recorded status', () => {
    const s = summarizeContainer(record(), undefined, down);
    expect(s.State).toBe('unknown');
    expect(s.Status).toMatch(/^Unknown \(node node-b down; last Up /);
  });

  it('inspect: Status unknown, the reason in Error', () => {
    const i = inspectContainer(record({ state: 'paused' }), undefined, down) as {
      State: Record<string, unknown>;
    };
    expect(i.State).toMatchObject({
      Status: 'unknown',
      Error: 'node node-b missed its heartbeat: last recorded paused',
    });
  });

  it('what a down node cannot change shows as recorded: exited, created, dead', () => {
    for (const state of ['exited', 'created', 'dead'] as const)
      expect(summarizeContainer(record({ state }), undefined, down).State).toBe(state);
  });

  it('a node that is up, or no liveness given: as recorded', () => {
    expect(summarizeContainer(record(), undefined, new Set(['node-c'])).State).toBe('running');
    expect(summarizeContainer(record()).State).toBe('running');
    expect((inspectContainer(record()) as { State: { Status: string } }).State.Status).toBe('running');
  });
});
