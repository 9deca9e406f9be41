import { baselinePolicy } from './document/baseline';
import { parsePolicyDocument, policyVersionId } from './document/policy-document';
import { evaluateExec } from './evaluate-exec';
import type { Exception } from './evaluate';
import type { ExecSpec } from './spec/exec-spec';

function policyOf(rules: unknown, mode = 'enforce') {
  const r = parsePolicyDocument({ name: 'prod', mode, rules });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return { name: 'prod', versionId: policyVersionId(r.doc), doc: r.doc };
}

/** The smallest exec: a non-root `sh` in a corp.io image; each test changes one thing. */
function execSpec(overrides: Partial<ExecSpec> = {}): ExecSpec {
  return {
    container: {
      id: 'c1',
      name: 'web',
      image: { registry: 'corp.io', repository: 'team/app', tag: '1' },
      labels: {},
    },
    cmd: ['sh'],
    user: '1000',
    uid: 1000,
    env: [],
    privileged: false,
    tty: false,
    ...overrides,
  };
}

const alice = { id: 'alice', teams: ['dev'] };
const now = new Date('2026-01-01T00:00:00Z');
const judge = (rules: unknown, spec = execSpec(), exceptions: Exception[] = [], mode = 'enforce') =>
  evaluateExec({
    policy: policyOf(rules, mode),
    spec,
    principal: alice,
    exceptions,
    now,
    defaultRecordingBytes: 4096,
  });
const rules = (r: ReturnType<typeof judge>) => r.decision.reasons.map((x) => x.rule);

describe('evaluateExec', () => {
  it('allows an exec that no rule concerns, with no obligation', () => {
    const r = judge({ exec: { allowRoot: false, allowPrivileged: false, deniedEnv: ['LD_*'] } });
    expect(r.decision).toMatchObject({ allowed: true, reasons: [] });
    expect(r.obligations).toEqual({});
  });

  it('denies every exec when exec.allow is false', () => {
    const r = judge({ exec: { allow: false } });
    expect(r.decision.allowed).toBe(false);
    expect(r.decision.reasons[0].message).toBe(
      'exec into containers is not allowed (policy prod, rule exec.allow)',
    );
  });

  it('admits only containers of the allowed images, on whole segments', () => {
    expect(rules(judge({ exec: { allowedImages: ['corp.io/team'] } }))).toEqual([]);
    const other = execSpec({
      container: { ...execSpec().container, image: { registry: 'corp.io', repository: 'team-evil/x' } },
    });
    const r = judge({ exec: { allowedImages: ['corp.io/team'] } }, other);
    expect(rules(r)).toEqual(['exec.allowedImages']);
    expect(r.decision.reasons[0].message).toMatch(
      /corp\.io\/team-evil\/x is not allowed \(allowed: corp\.io\/team\)/,
    );
  });

  it('denies root by the resolved uid, whatever name was asked for', () => {
    expect(rules(judge({ exec: { allowRoot: false } }, execSpec({ user: 'admin', uid: 0 })))).toEqual([
      'exec.allowRoot',
    ]);
    const dflt = judge({ exec: { allowRoot: false } }, execSpec({ user: '', uid: 0 }));
    expect(dflt.decision.reasons[0].message).toMatch(/the image's default user is uid 0/);
    expect(rules(judge({}, execSpec({ uid: 0 })))).toEqual([]);
  });

  it('denies privileged exec under baseline', () => {
    const doc = baselinePolicy({ upstreamRegistries: [] });
    const r = evaluateExec({
      policy: { name: doc.name, versionId: policyVersionId(doc), doc },
      spec: execSpec({ privileged: true }),
      principal: alice,
      exceptions: [],
      now,
      defaultRecordingBytes: 1,
    });
    expect(rules(r)).toEqual(['exec.allowPrivileged']);
    expect(r.decision.allowed).toBe(false);
  });

  it('denies variables by name or pattern, each once, naming the pattern (not the value)', () => {
    const r = judge(
      { exec: { deniedEnv: ['LD_*', '*_TOKEN', 'PATH'] } },
      execSpec({ env: ['LD_PRELOAD=/x.so', 'GH_TOKEN=secret', 'GH_TOKEN=again', 'HOME=/root', 'PATHX=1'] }),
    );
    expect(r.decision.reasons.map((x) => x.detail)).toEqual([
      { name: 'LD_PRELOAD', pattern: 'LD_*' },
      { name: 'GH_TOKEN', pattern: '*_TOKEN' },
    ]);
    expect(JSON.stringify(r.decision)).not.toContain('secret');
  });

  it('requires recording with the policy cap, or Warden default', () => {
    expect(judge({ exec: { recording: { required: true, maxBytes: '64k' } } }).obligations).toEqual({
      recording: { maxBytes: 65536 },
    });
    expect(judge({ exec: { recording: { required: true } } }).obligations).toEqual({
      recording: { maxBytes: 4096 },
    });
    expect(judge({ exec: { recording: { required: false } } }).obligations).toEqual({});
  });

  it('admits in audit mode and keeps the reasons', () => {
    const r = judge({ exec: { allow: false } }, execSpec(), [], 'audit');
    expect(r.decision).toMatchObject({ allowed: true, mode: 'audit' });
    expect(rules(r)).toEqual(['exec.allow']);
  });

  it('lets an exception for the rule, principal and image waive it', () => {
    const exc: Exception = {
      id: 'x1',
      rule: 'exec.allowRoot',
      principalId: 'alice',
      image: { repository: 'corp.io/team/app' },
      requester: 'alice',
      approver: 'bob',
      ticket: 'T-1',
      expiresAt: new Date('2027-01-01T00:00:00Z'),
    };
    const r = judge({ exec: { allowRoot: false } }, execSpec({ uid: 0 }), [exc]);
    expect(r.decision).toMatchObject({ allowed: true, reasons: [] });
    expect(r.decision.waived).toEqual([
      expect.objectContaining({ rule: 'exec.allowRoot', exceptionId: 'x1' }),
    ]);
  });

  it('refuses bad exec rules, each named', () => {
    const r = parsePolicyDocument({
      name: 'p',
      mode: 'enforce',
      rules: {
        exec: {
          deniedEnv: ['A=B'],
          allowedImages: ['corp.io/Bad Name'],
          recording: { required: true, maxBytes: 'x' },
        },
      },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(/deniedEnv/);
  });
});
