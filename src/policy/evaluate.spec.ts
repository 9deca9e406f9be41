import {
  parsePolicyDocument,
  policyVersionId,
  baselinePolicy,
  PolicyDocument,
} from './document/policy-document';
import { Exception, evaluateForNoPolicy, evaluatePolicy } from './evaluate';
import { DIGEST, GiB, MiB, minimalSpec } from './testing/fixtures';
import type { ContainerSpec } from './spec/container-spec';

function policyOf(input: unknown) {
  const r = parsePolicyDocument(input);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return { name: r.doc.name, versionId: policyVersionId(r.doc), doc: r.doc };
}

const prod = policyOf({
  name: 'prod',
  mode: 'enforce',
  rules: {
    resources: { memory: { max: '2g', default: '512m' }, cpu: { max: 2, default: 1 }, pids: { max: 1024 } },
    images: { allowedRegistries: ['corp.io/team'], forbidLatest: true },
    privileged: { allow: false },
    hostNamespaces: { allow: false },
    capabilities: { allowAdd: [] },
    labels: { required: ['owner'] },
  },
});
const principal = { id: 'dev-1', teams: ['payments'] };
const now = new Date('2025-06-01T00:00:00Z');
const good = minimalSpec({ labels: { owner: 'dev-1' }, pidsLimit: 100 });

function run(spec: ContainerSpec, exceptions: Exception[] = [], policy = prod) {
  return evaluatePolicy({ policy, spec, principal, exceptions, now });
}

const exception = (over: Partial<Exception> = {}): Exception => ({
  id: 'exc-1',
  rule: 'resources.memory.max',
  principalId: 'dev-1',
  image: { repository: 'corp.io/team/app' },
  requester: 'dev-1',
  approver: 'sec-lead-1',
  ticket: 'SEC-1',
  expiresAt: new Date('2025-07-01T00:00:00Z'),
  ...over,
});

describe('evaluatePolicy', () => {
  it('allows a compliant spec and fills defaults before checking', () => {
    const { decision, effectiveSpec } = run(good);
    expect(decision).toEqual({
      allowed: true,
      mode: 'enforce',
      policy: 'prod',
      policyVersion: prod.versionId,
      reasons: [],
      waived: [],
      defaultsApplied: [
        { field: 'memoryBytes', value: 512 * MiB },
        { field: 'nanoCpus', value: 1e9 },
      ],
    });
    expect(effectiveSpec).toEqual({ ...good, memoryBytes: 512 * MiB, nanoCpus: 1e9 });
    expect(good.memoryBytes).toBeUndefined();
  });

  it('does not override what the request set', () => {
    const { decision, effectiveSpec } = run({ ...good, memoryBytes: GiB });
    expect(effectiveSpec.memoryBytes).toBe(GiB);
    expect(decision.defaultsApplied.map((d) => d.field)).toEqual(['nanoCpus']);
  });

  it('fills the writable layer size and tmpfs sizes from the policy, then checks them against their caps', () => {
    const disk = policyOf({
      name: 'disk',
      mode: 'enforce',
      rules: {
        resources: { storage: { max: '1g', default: '256m' }, tmpfs: { max: '64m', default: '16m' } },
      },
    });
    const spec = minimalSpec({
      tmpfs: [
        { target: '/run', options: [] },
        { target: '/big', sizeBytes: 32 * MiB, options: [] },
      ],
    });
    const { decision, effectiveSpec } = run(spec, [], disk);
    expect(decision.allowed).toBe(true);
    expect(decision.defaultsApplied).toEqual([
      { field: 'storageBytes', value: 256 * MiB },
      { field: 'tmpfsSizeBytes', value: 16 * MiB, target: '/run' },
    ]);
    expect(effectiveSpec.storageBytes).toBe(256 * MiB);
    expect(effectiveSpec.tmpfs.map((t) => t.sizeBytes)).toEqual([16 * MiB, 32 * MiB]);
    expect(spec.tmpfs[0].sizeBytes).toBeUndefined();

    const over = run(
      minimalSpec({ storageBytes: 2 * GiB, tmpfs: [{ target: '/t', sizeBytes: 128 * MiB, options: [] }] }),
      [],
      disk,
    ).decision;
    expect(over.allowed).toBe(false);
    expect(over.reasons.map((r) => r.message)).toEqual([
      'writable layer size 2g exceeds cap 1g (policy disk, rule resources.storage.max)',
      'tmpfs /t size 128m exceeds cap 64m (policy disk, rule resources.tmpfs.max)',
    ]);
  });

  it('a tmpfs cap without a default refuses a tmpfs without a size', () => {
    const capped = policyOf({
      name: 'tmp',
      mode: 'enforce',
      rules: { resources: { tmpfs: { max: '64m' } } },
    });
    const { decision } = run(minimalSpec({ tmpfs: [{ target: '/run', options: [] }] }), [], capped);
    expect(decision.reasons.map((r) => r.rule)).toEqual(['resources.tmpfs.max']);
    expect(decision.reasons[0].message).toMatch(/tmpfs \/run has no size but the cap is 64m; add size=/);
  });

  it('reports every failing rule, not only the first', () => {
    const bad = minimalSpec({
      image: { registry: 'evil.io', repository: 'x', tag: 'latest' },
      memoryBytes: 9 * GiB,
      privileged: true,
      networkMode: 'host',
      hostNamespaces: { pid: false, ipc: false, net: true, uts: false },
      capAdd: ['CAP_SYS_ADMIN'],
    });
    const { decision } = run(bad);
    expect(decision.allowed).toBe(false);
    expect(decision.reasons.map((r) => r.rule)).toEqual([
      'resources.memory.max',
      'resources.pids.max',
      'images.allowedRegistries',
      'images.forbidLatest',
      'privileged.allow',
      'hostNamespaces.allow',
      'capabilities.allowAdd',
      'labels.required',
    ]);
    expect(decision.reasons[0].message).toBe(
      'memory 9g exceeds cap 2g (policy prod, rule resources.memory.max)',
    );
  });

  it('checks defaults against caps too (a default is not a free pass)', () => {
    const tight = policyOf({
      name: 'tight',
      mode: 'enforce',
      rules: { resources: { pids: { max: 10, default: 10 } } },
    });
    expect(run(good, [], tight).decision.allowed).toBe(false);
    expect(run({ ...good, pidsLimit: undefined }, [], tight).decision).toMatchObject({
      allowed: true,
      defaultsApplied: [{ field: 'pidsLimit', value: 10 }],
    });
  });

  it('audit mode allows but records what would be denied', () => {
    const audit = policyOf({ name: 'watch', mode: 'audit', rules: { privileged: { allow: false } } });
    const { decision } = run({ ...good, privileged: true }, [], audit);
    expect(decision).toMatchObject({ allowed: true, mode: 'audit', policy: 'watch' });
    expect(decision.reasons.map((r) => r.rule)).toEqual(['privileged.allow']);
  });

  describe('exceptions', () => {
    const big = { ...good, memoryBytes: 4 * GiB };

    it('waive their rule for their principal and image until expiry', () => {
      const { decision } = run(big, [exception()]);
      expect(decision.allowed).toBe(true);
      expect(decision.reasons).toEqual([]);
      expect(decision.waived).toEqual([
        expect.objectContaining({ rule: 'resources.memory.max', exceptionId: 'exc-1' }),
      ]);
    });

    it('waive only their rule', () => {
      const { decision } = run({ ...big, privileged: true }, [exception()]);
      expect(decision.allowed).toBe(false);
      expect(decision.reasons.map((r) => r.rule)).toEqual(['privileged.allow']);
      expect(decision.waived).toHaveLength(1);
    });

    it.each<[string, Partial<Exception>]>([
      ['expired', { expiresAt: new Date('2025-06-01T00:00:00Z') }],
      ['invalid expiry', { expiresAt: new Date('not a date') }],
      ['another principal', { principalId: 'dev-2' }],
      ['another team', { principalId: undefined, team: 'ops' }],
      ['no scope', { principalId: undefined }],
      ['another repository', { image: { repository: 'corp.io/team/other' } }],
      ['a repository prefix only', { image: { repository: 'corp.io/team' } }],
      ['another digest', { image: { digest: `sha256:${'b'.repeat(64)}` } }],
      ['no image', { image: {} }],
      ['self-approved', { approver: 'dev-1' }],
      ['another rule', { rule: 'resources.memory' }],
    ])('do not apply when %s', (_why, over) => {
      const { decision } = run(big, [exception(over)]);
      expect(decision.allowed).toBe(false);
      expect(decision.waived).toEqual([]);
    });

    it('apply by team and by digest (requested or resolved)', () => {
      const byTeam = exception({ principalId: undefined, team: 'payments', image: { digest: DIGEST } });
      const pinned = { ...big, image: { ...big.image, digest: DIGEST } };
      const resolved = { ...big, image: { ...big.image, resolvedDigest: DIGEST } };
      expect(run(pinned, [byTeam]).decision.allowed).toBe(true);
      expect(run(resolved, [byTeam]).decision.allowed).toBe(true);
    });
  });

  it('uses an injected realpath for bind mounts', () => {
    const p = policyOf({ name: 'binds', mode: 'enforce', rules: { binds: { allowedHostPaths: ['/data'] } } });
    const spec = { ...good, binds: [{ source: '/data/link', target: '/x', readOnly: true }] };
    const input = { policy: p, spec, principal, exceptions: [], now };
    expect(evaluatePolicy(input).decision.allowed).toBe(true);
    const realpath = (path: string) => (path === '/data/link' ? '/etc' : path);
    expect(evaluatePolicy({ ...input, realpath }).decision.allowed).toBe(false);
  });

  it('baseline admits a plain local or upstream image with caps filled, and refuses privileged', () => {
    const doc: PolicyDocument = baselinePolicy({ upstreamRegistries: ['corp.io'] });
    const baseline = { name: doc.name, versionId: policyVersionId(doc), doc };
    const local = minimalSpec({ image: { registry: '', repository: 'busybox' } });
    const { decision } = run(local, [], baseline);
    expect(decision.allowed).toBe(true);
    expect(decision.defaultsApplied.map((d) => d.field)).toEqual([
      'memoryBytes',
      'nanoCpus',
      'pidsLimit',
      'storageBytes',
    ]);
    expect(run(minimalSpec(), [], baseline).decision.allowed).toBe(true);
    expect(run(minimalSpec({ privileged: true }), [], baseline).decision.allowed).toBe(false);
    expect(
      run(minimalSpec({ image: { registry: 'evil.io', repository: 'x' } }), [], baseline).decision.allowed,
    ).toBe(false);
  });
});

describe('evaluateForNoPolicy', () => {
  it('denies, saying no policy is bound', () => {
    const d = evaluateForNoPolicy({ principal: { id: 'dev-1' } });
    expect(d).toMatchObject({ allowed: false, mode: 'enforce', policy: null, policyVersion: null });
    expect(d.reasons[0].message).toBe(
      'no policy is bound to principal dev-1 or its teams; launches are denied until an admin binds one',
    );
  });

  it('denies, saying the policy failed to load', () => {
    const d = evaluateForNoPolicy({ principal: { id: 'dev-1' }, loadError: 'connection refused' });
    expect(d.allowed).toBe(false);
    expect(d.reasons[0]).toMatchObject({ rule: 'policy.load' });
    expect(d.reasons[0].message).toContain('could not be loaded (connection refused)');
  });
});
