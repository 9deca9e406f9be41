import { ctx } from '../testing/fixtures';
import { attachCheck } from './attach.check';

describe('attachCheck', () => {
  const spec = (stdin: boolean) => ({
    container: { id: 'c1', name: 'web', image: { registry: '', repository: 'app' }, labels: {} },
    stdin,
    tty: false,
  });

  it('no rule, or allowed: attach as Docker allows it', () => {
    expect(attachCheck(spec(true), {}, ctx)).toEqual([]);
    expect(attachCheck(spec(true), { attach: { allow: true } }, ctx)).toEqual([]);
    expect(attachCheck(spec(false), { attach: { allowStdin: false } }, ctx)).toEqual([]);
  });

  it('allowStdin false refuses typing in, allow false refuses any attach, each naming its rule', () => {
    expect(attachCheck(spec(true), { attach: { allowStdin: false } }, ctx)).toEqual([
      expect.objectContaining({ rule: 'attach.allowStdin', detail: { container: 'web', stdin: true } }),
    ]);
    expect(attachCheck(spec(false), { attach: { allow: false } }, ctx)).toEqual([
      expect.objectContaining({
        rule: 'attach.allow',
        message: 'attaching to containers is not allowed (container web) (policy prod, rule attach.allow)',
      }),
    ]);
  });
});
