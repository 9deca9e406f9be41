import { cpusetProblem, hostCpus, intParam, parseCpuList, text, userProblem } from './fields';
import { jsonProblem, urlProblem } from './nul-guard';

describe('edge validation', () => {
  it('urlProblem: NUL bytes and broken %-escapes in path or query', () => {
    expect(urlProblem('/containers/abc?all=true&label=a%3Db')).toBeUndefined();
    expect(urlProblem('/containers/a%00b')).toMatch(/path contains a NUL byte/);
    expect(urlProblem('/audit/events?principal=x%00')).toMatch(/query contains a NUL byte/);
    expect(urlProblem('/x?k%00=1')).toMatch(/NUL/);
    expect(urlProblem('/images/%FF')).toMatch(/not UTF-8/);
    expect(urlProblem('/x?a=%E0%A4%A')).toMatch(/not UTF-8/);
  });

  it('jsonProblem: a NUL in any key or value at any depth, and nesting past 64 levels', () => {
    expect(jsonProblem({ a: [{ b: 'ok' }], n: 1, z: null })).toBeUndefined();
    expect(jsonProblem({ labels: { k: 'v\u0000' } })).toBe('body.labels.k: must not contain a NUL byte');
    expect(jsonProblem({ cmd: ['sh', 'a\u0000'] })).toBe('body.cmd.1: must not contain a NUL byte');
    expect(jsonProblem({ ['k\u0000']: 1 })).toMatch(/a key must not contain a NUL byte/);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep }; // iterative: no stack overflow
    expect(jsonProblem(deep)).toMatch(/nested deeper than 64 levels/);
  });

  it('text, intParam: bounded, NUL-free, decimal only', () => {
    expect(text(3).safeParse('abc').success).toBe(true);
    expect(text(3).safeParse('abcd').success).toBe(false);
    expect(text(10).safeParse('a\u0000').success).toBe(false);
    expect(intParam(0, 10).parse('7')).toBe(7);
    for (const bad of ['0x10', '1e1', '', ' 7', '11', '-1', '2.5'])
      expect(intParam(0, 10).safeParse(bad).success).toBe(false);
  });

  it('userProblem: names and ids, ids at most 2^31-1', () => {
    for (const ok of ['root', '1000', '1000:1000', 'app:staff', '2147483647'])
      expect(userProblem(ok)).toBeUndefined();
    expect(userProblem('4294967295')).toMatch(/above the maximum 2147483647/);
    expect(userProblem('0:2147483648')).toMatch(/2147483648 is above/);
    expect(userProblem('a:b:c')).toMatch(/name or uid/);
    expect(userProblem('a b')).toMatch(/name or uid/);
  });

  it('cpusets: syntax, and CPUs online on this host', () => {
    expect(parseCpuList('0-2,5')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('3-1')).toBeUndefined();
    expect(parseCpuList('0,,1')).toBeUndefined();
    const online = hostCpus();
    expect(online.length).toBeGreaterThan(0);
    expect(cpusetProblem(String(online[0]))).toBeUndefined();
    expect(cpusetProblem('0-999')).toMatch(/is not online on this host/);
  });
});
