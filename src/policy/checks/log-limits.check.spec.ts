import { applyDefaults } from '../evaluate';
import { parsePolicyDocument } from '../document/policy-document';
import { ctx, MiB, minimalSpec } from '../testing/fixtures';
import { logLimitsCheck } from './log-limits.check';

const rules = { logs: { maxSize: { max: 100 * MiB }, maxFiles: { max: 5 } } };

describe('logLimitsCheck', () => {
  it('passes limits under the caps, and a container without a log', () => {
    expect(logLimitsCheck(minimalSpec({ logMaxBytes: MiB, logMaxFiles: 5 }), rules, ctx)).toEqual([]);
    expect(logLimitsCheck(minimalSpec({ logDriver: 'none' }), rules, ctx)).toEqual([]);
  });

  it('refuses a file size or a count above the cap', () => {
    const r = logLimitsCheck(minimalSpec({ logMaxBytes: 200 * MiB, logMaxFiles: 6 }), rules, ctx);
    expect(r.map((x) => x.rule)).toEqual(['logs.maxSize.max', 'logs.maxFiles.max']);
    expect(r[0].message).toBe('log max-size 200m exceeds the cap 100m (policy prod, rule logs.maxSize.max)');
  });
});

describe('log defaults', () => {
  const doc = (logs: unknown) => {
    const r = parsePolicyDocument({ name: 'p', mode: 'enforce', rules: { logs } });
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.doc;
  };
  const system = { logMaxBytes: 10 * MiB, logMaxFiles: 3 };

  it("fills the policy's default first, else Warden's kept under the policy cap", () => {
    expect(
      applyDefaults(minimalSpec(), doc({ maxSize: { default: '1m' } }), system).effectiveSpec,
    ).toMatchObject({
      logMaxBytes: MiB,
      logMaxFiles: 3,
    });
    expect(
      applyDefaults(minimalSpec(), doc({ maxSize: { max: '2m' }, maxFiles: { max: 2 } }), system)
        .effectiveSpec,
    ).toMatchObject({ logMaxBytes: 2 * MiB, logMaxFiles: 2 });
    const none = applyDefaults(minimalSpec({ logDriver: 'none' }), doc({}), system);
    expect(none.defaultsApplied).toEqual([]);
  });

  it('refuses log limits the shim cannot keep', () => {
    const r = parsePolicyDocument({
      name: 'p',
      mode: 'enforce',
      rules: { logs: { maxSize: { max: 10 }, maxFiles: { max: 0 } } },
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors).toEqual([expect.stringMatching(/below 1k/), expect.stringMatching(/from 1 to 100/)]);
  });
});
