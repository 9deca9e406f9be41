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
  await policies.decide(bob, { image: 'search/indexer:3', memory: '128m' });

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

  const removedId = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
  await seedRemovedContainer(w, removedId, batch.launchRequestId as string);
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
    baselineVersions: [versions[0].id, versions[1].id],
    exceptionId: exception.body.id as string,
  };
}

/** Lifecycle events and usage samples of a payments container that ran out of memory. */
async function seedRemovedContainer(w: TestWarden, id: string, launchRequestId: string): Promise<void> {
  const t0 = Date.now() - 30 * 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const container = { name: 'batch-job', image: 'payments/worker:2', imageDigest: null };
  const event = (type: string, s: number, payload: Record<string, unknown>, principal = 'alice') => ({
    id: randomUUID(),
    occurredAt: at(s),
    type: type as 'container.created',
    principal,
    source: { via: 'cli' as const },
    subject: id,
    payload: { ...container, ...payload },
  });
  await w.app.get(AuditEventRepository).append([
    event('container.created', 0, {
      spec: {
        memoryBytes: 256 * MiB,
        nanoCpus: 1e9,
        pidsLimit: 64,
        labels: { team: 'payments', app: 'batch' },
      },
      launchRequestId,
    }),
    event('container.started', 1, { pid: 4242 }),
    event('container.died', 60, { exitCode: 137, signal: null, oomKilled: true, error: null }, 'system'),
    event('container.removed', 61, {}),
  ]);
  const sample = (s: number, final: boolean, cpuNs: number, ws: number, oomKills: number): UsageSample => ({
    id: randomUUID(),
    containerId: id,
    name: container.name,
    image: container.image,
    labels: { team: 'payments', app: 'batch' },
    node: 'node-a',
    pid: 4242,
    sampledAt: at(s),
    final,
    cpuNs,
    cpuUserNs: cpuNs,
    cpuSystemNs: 0,
    memoryBytes: ws,
    workingSetBytes: ws,
    memoryPeakBytes: final ? 256 * MiB : null,
    pids: 3,
    throttledPeriods: 0,
    throttledNs: 0,
    oomKills,
  });
  await w.app
    .get(UsageSampleRepository)
    .insert([
      sample(10, false, 2e9, 100 * MiB, 0),
      sample(40, false, 9e9, 250 * MiB, 0),
      sample(60, true, 12e9, 0, 1),
    ]);
}
