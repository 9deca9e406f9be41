import { ctx, minimalSpec } from '../testing/fixtures';
import { sysctlsCheck } from './sysctls.check';

describe('sysctlsCheck', () => {
  const rules = { sysctls: { allowed: ['kernel.shmmax', 'net.ipv4.*'] } };

  it('passes exact names and names under an allowed prefix', () => {
    const spec = minimalSpec({ sysctls: { 'kernel.shmmax': '1024', 'net.ipv4.ip_forward': '1' } });
    expect(sysctlsCheck(spec, rules, ctx)).toEqual([]);
  });

  it('refuses a sysctl outside the list, naming it and the list', () => {
    const spec = minimalSpec({ sysctls: { 'net.core.somaxconn': '1024', 'kernel.shmmax': '1' } });
    expect(sysctlsCheck(spec, rules, ctx)).toEqual([
      {
        rule: 'sysctls.allowed',
        message:
          'sysctl net.core.somaxconn is not allowed (allowed: kernel.shmmax, net.ipv4.*) (policy prod, rule sysctls.allowed)',
        detail: { sysctl: 'net.core.somaxconn', allowed: ['kernel.shmmax', 'net.ipv4.*'] },
      },
    ]);
  });

  it('an empty list admits none; no rule admits every (namespaced) one', () => {
    const spec = minimalSpec({ sysctls: { 'kernel.sem': '250 32000 32 128' } });
    expect(sysctlsCheck(spec, { sysctls: { allowed: [] } }, ctx)).toHaveLength(1);
    expect(sysctlsCheck(spec, {}, ctx)).toEqual([]);
    expect(sysctlsCheck(minimalSpec(), rules, ctx)).toEqual([]);
  });
});
