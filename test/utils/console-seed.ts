import { randomUUID } from 'node:crypto';
import { AuditEventRepository, UsageSampleRepository } from '../../src/audit';
import type { UsageSample } from '../../src/audit';
import type { Caller, Role } from '../../src/platform/http';
import { PolicyService } from '../../src/policy';
import { eventually } from './services';
import { api, TestWarden } from './warden';

const MiB = 1024 ** 2;

export interface ConsoleSeed {
  auditor: string;
  /** A container that ran, was OOM killed and was removed: only the trail remembers it. */
  removedId: string;
  /** Another removed container, of team search, whose peak stayed far under its cap. */
  oversizedId: string;
  /** Ids of the two baseline versions, oldest first. */
  baselineVersions: [string, string];
  exceptionId: string;
}

const caller = (id: string, teams: string[], role: Role = 'deployer'): Caller => ({
  principal: { id, role, teams },
  source: { via: 'cli' },
});

/**
 * What the review console is exercised against, written through Warden's own services so
 * every row is as Warden writes it (hashes chained, decisions with their launch requests):
 * two teams with denials, an audit-mode policy's would-deny, a second baseline version, an
 * exception expiring soon, and the usage and lifecycle events of a container that was OOM
 * killed and removed.
 */
export async function seedConsole(w: TestWarden): Promise<ConsoleSeed> {
  const principal = async (id: string, role: Role, teams: string[] = []) => {
    expect((await api(w, 'POST', '/principals', { body: { id, role, teams } })).status).toBe(201);
    return (await api(w, 'POST', '/tokens', { body: { principalId: id, name: 'console' } })).body
      .token as string;
  };
  const auditor = await principal('audrey', 'auditor');
  await principal('alice', 'deployer', ['payments']);
  await principal('bob', 'deployer', ['search']);

  const baseline = (await api(w, 'GET', '/policies/baseline')).body;
  // The second version keeps every baseline rule and adds a memory cap.
  const doc = baseline.document;
  const v2 = await api(w, 'POST', '/policies', {
    body: {
      ...doc,
      rules: { ...doc.rules, resources: { ...doc.rules.resources, memory: { max: '1g', default: '256m' } } },
    },
  });
  expect(v2.status).toBe(201);
  expect(
    (await api(w, 'POST', '/policies/baseline/activate', { body: { versionId: v2.body.id } })).status,
  ).toBe(200);
  // Team search is bound to a policy in audit mode: its violations are would-deny.
  const trial = await api(w, 'POST', '/policies', {
    body: { name: 'search-trial', mode: 'audit', rules: { capabilities: { allowAdd: [] } } },
  });
  expect(trial.status).toBe(201);
  const activate = { body: { versionId: trial.body.id } };
  expect((await api(w, 'POST', '/policies/search-trial/activate', activate)).status).toBe(200);
  expect(
    (await api(w, 'POST', '/policies/search-trial/bindings', { body: { kind: 'team', value: 'search' } }))
      .status,
  ).toBe(201);

  const policies = w.app.get(PolicyService);
  const alice = caller('alice', ['payments']);
  const bob = caller('bob', ['search']);
  const batch = await policies.decide(alice, { image: 'payments/worker:2', memory: '256m' });
  expect(batch.decision.allowed).toBe(true);
  await policies.decide(alice, { image: 'payments/api:1.0', privileged: true });
  await policies.decide(alice, { image: 'payments/worker:2', memory: '4g' });
  await policies.decide(bob, { image: 'search/indexer:3', capAdd: ['NET_ADMIN'] });
  const indexer = await policies.decide(bob, { image: 'search/indexer:3', memory: '512m' });

  const exception = await api(w, 'POST', '/exceptions', {
    body: {
      rule: 'privileged.allow',
      team: 'payments',
      image: { repository: 'payments/api' },
      requester: 'alice',
      ticket: 'CHG-19',
      expiresAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    },
  });
  expect(exception.status).toBe(201);

  // batch-job used its whole cap and was OOM killed; search-indexer peaked at 20 MiB of 512.
  const removedId = newContainerId();
  await seedRanContainer(w, {
    id: removedId,
    name: 'batch-job',
    image: 'payments/worker:2',
    team: 'payments',
    principal: 'alice',
    launchRequestId: batch.launchRequestId as string,
    capBytes: 256 * MiB,
    samples: [
      [10, 2e9, 100 * MiB, 0],
      [40, 9e9, 250 * MiB, 0],
      [60, 12e9, 0, 1],
    ],
    peakBytes: 256 * MiB,
    exitCode: 137,
    ioMiBPerSample: [4, 2],
    volumeMiB: 5,
  });
  const oversizedId = newContainerId();
  await seedRanContainer(w, {
    id: oversizedId,
    name: 'search-indexer',
    image: 'search/indexer:3',
    team: 'search',
    principal: 'bob',
    launchRequestId: indexer.launchRequestId as string,
    capBytes: 512 * MiB,
    samples: [
      [5, 1e9, 10 * MiB, 0],
      [30, 3e9, 20 * MiB, 0],
    ],
    peakBytes: 20 * MiB,
    exitCode: 0,
  });
  await eventually('the seeded trail', async () => {
    const d = await api(w, 'GET', '/audit/events?type=policy.decision&limit=1000');
    const removed = await api(w, 'GET', `/audit/events?type=container.removed&subject=${removedId}`);
    return d.body.events.length >= 5 && removed.body.events.length === 1;
  });
  const versions = (await api(w, 'GET', '/policies/baseline/versions')).body as Array<{ id: string }>;
  expect(versions.map((v) => v.id)).toEqual([baseline.activeVersion, v2.body.id]);
  return {
    auditor,
    removedId,
    oversizedId,
    baselineVersions: [versions[0].id, versions[1].id],
    exceptionId: exception.body.id as string,
  };
}

interface RanContainer {
  id: string;
  name: string;
  image: string;
  team: string;
  principal: string;
  launchRequestId: string;
  capBytes: number;
  /** [seconds after the start, cumulative CPU ns, working set bytes, cumulative OOM kills]. */
  samples: Array<[number, number, number, number]>;
  peakBytes: number;
  exitCode: number;
  /** Block I/O read and written per sample (cumulative counters grow by it); none: not recorded. */
  ioMiBPerSample?: [number, number];
  /** What its volume `<name>-data` held at each sample; none: no volumes. */
  volumeMiB?: number;
}

export const newContainerId = () => randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');

/** Lifecycle events (created → started → died → removed) and usage samples of a container that ran. */
async function seedRanContainer(w: TestWarden, c: RanContainer): Promise<void> {
  const t0 = Date.now() - 30 * 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const labels = { team: c.team, app: c.name.split('-')[0] };
  const last = c.samples[c.samples.length - 1];
  const event = (type: string, s: number, payload: Record<string, unknown>, principal = c.principal) => ({
    id: randomUUID(),
    occurredAt: at(s),
    type: type as 'container.created',
    principal,
    source: { via: 'cli' as const },
    subject: c.id,
    payload: { name: c.name, image: c.image, imageDigest: null, ...payload },
  });
  await w.app.get(AuditEventRepository).append([
    event('container.created', 0, {
      spec: { memoryBytes: c.capBytes, nanoCpus: 1e9, pidsLimit: 64, labels },
      launchRequestId: c.launchRequestId,
    }),
    event('container.started', 1, { pid: 4242 }),
    event(
      'container.died',
      last[0],
      { exitCode: c.exitCode, signal: null, oomKilled: last[3] > 0, error: null },
      'system',
    ),
    event('container.removed', last[0] + 1, {}),
  ]);
  await w.app.get(UsageSampleRepository).insert(
    c.samples.map(([s, cpuNs, ws, oomKills], i): UsageSample => {
      const final = i === c.samples.length - 1;
      return {
        id: randomUUID(),
        containerId: c.id,
        name: c.name,
        image: c.image,
        labels,
        node: 'node-a',
        pid: 4242,
        sampledAt: at(s),
        final,
        cpuNs,
        cpuUserNs: cpuNs,
        cpuSystemNs: 0,
        memoryBytes: ws,
        workingSetBytes: ws,
        memoryPeakBytes: final ? c.peakBytes : null,
        pids: 3,
        throttledPeriods: 0,
        throttledNs: 0,
        oomKills,
        ioReadBytes: c.ioMiBPerSample ? (i + 1) * c.ioMiBPerSample[0] * MiB : null,
        ioWriteBytes: c.ioMiBPerSample ? (i + 1) * c.ioMiBPerSample[1] * MiB : null,
        volumeBytes: c.volumeMiB ? c.volumeMiB * MiB : null,
        volumes: c.volumeMiB ? { [`${c.name}-data`]: c.volumeMiB * MiB } : null,
      };
    }),
  );
}
