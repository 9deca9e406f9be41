import type { AdmittedContainer, Decision } from '../policy';
import { defaultsPatch } from './defaults-patch';
import { podOf } from './testing';

// baseline's defaults: 512 MiB, 1 CPU, 10 GiB writable layer, 1024 pids (no pod field).
const judged = (name: string, type: AdmittedContainer['type'] = 'container'): AdmittedContainer => ({
  name,
  type,
  effectiveSpec: {} as AdmittedContainer['effectiveSpec'],
  decision: {
    allowed: true,
    mode: 'enforce',
    policy: 'baseline',
    policyVersion: 'v',
    reasons: [],
    waived: [],
    defaultsApplied: [
      { field: 'memoryBytes', value: 512 * 2 ** 20 },
      { field: 'nanoCpus', value: 1e9 },
      { field: 'pidsLimit', value: 1024 },
      { field: 'storageBytes', value: 10 * 2 ** 30 },
      { field: 'logMaxBytes', value: 10 * 2 ** 20 },
    ],
  } as Decision,
});

describe('defaultsPatch: the mutating webhook writes what the policy fills in', () => {
  it('adds limits, allowPrivilegeEscalation and the runtime default seccomp profile to a bare pod', () => {
    expect(defaultsPatch(podOf('pod'), [judged('web')])).toEqual([
      {
        op: 'add',
        path: '/spec/containers/0/resources/limits',
        value: { memory: '512Mi', cpu: '1', 'ephemeral-storage': '10Gi' },
      },
      { op: 'add', path: '/spec/containers/0/securityContext', value: { allowPrivilegeEscalation: false } },
      { op: 'add', path: '/spec/securityContext', value: { seccompProfile: { type: 'RuntimeDefault' } } },
    ]);
  });

  it('patches inside the template of a workload (CronJob)', () => {
    const ops = defaultsPatch(podOf('cronjob'), [judged('nightly')]);
    expect(ops.map((o) => o.path)).toEqual([
      '/spec/jobTemplate/spec/template/spec/containers/0/resources/limits',
      '/spec/jobTemplate/spec/template/spec/containers/0/securityContext',
      '/spec/jobTemplate/spec/template/spec/securityContext',
    ]);
  });

  it('adds only the limits a container lacks, never below its own request', () => {
    const pod = podOf('pod', (o) => {
      o.spec.containers[0].resources = { limits: { cpu: '250m' }, requests: { memory: '1Gi' } };
      o.spec.containers[0].securityContext = {
        allowPrivilegeEscalation: false,
        seccompProfile: { type: 'RuntimeDefault' },
      };
    });
    expect(defaultsPatch(pod, [judged('web')])).toEqual([
      { op: 'add', path: '/spec/containers/0/resources/limits/memory', value: '1Gi' },
      { op: 'add', path: '/spec/containers/0/resources/limits/ephemeral-storage', value: '10Gi' },
    ]);
  });

  it('leaves privileged containers, ephemeral ones and a restricted pod as they are', () => {
    const restricted = podOf('pod-restricted');
    expect(
      defaultsPatch(restricted, [
        { ...judged('web'), decision: { ...judged('web').decision, defaultsApplied: [] } },
      ]),
    ).toEqual([]);
    const priv = defaultsPatch(podOf('pod-privileged'), [judged('web')]);
    expect(priv.map((o) => o.path)).toEqual(['/spec/containers/0/resources/limits', '/spec/securityContext']);
    const eph = defaultsPatch(podOf('pod-init-ephemeral'), [
      judged('setup', 'initContainer'),
      judged('debug', 'ephemeralContainer'),
    ]);
    expect(eph.map((o) => o.path)).toEqual(['/spec/initContainers/0/resources', '/spec/securityContext']);
  });
});
