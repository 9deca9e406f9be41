import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveInRoot } from './in-root';

describe('resolveInRoot', () => {
  let base: string;
  let root: string;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'in-root-'));
    root = path.join(base, 'root');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'inside');
    fs.writeFileSync(path.join(base, 'outside', 'passwd'), 'host');
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('keeps .. and absolute or relative symlinks inside the root (CVE-2018-15664)', () => {
    fs.symlinkSync('/', path.join(root, 'to-root'));
    fs.symlinkSync('../../../..', path.join(root, 'etc', 'up'));
    fs.symlinkSync('../outside', path.join(root, 'escape'));
    expect(resolveInRoot(root, '/../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(resolveInRoot(root, '/to-root/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(resolveInRoot(root, '/etc/up/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    // ../outside from the root is /outside inside it, which does not exist there.
    expect(() => resolveInRoot(root, '/escape/passwd')).toThrow(/no such file/);
    expect(resolveInRoot(root, '/escape', { followLast: true })).toBe(path.join(root, 'outside'));
  });

  it('leaves the last link alone unless asked, and stops link loops', () => {
    fs.symlinkSync('/etc/passwd', path.join(root, 'link'));
    fs.symlinkSync('loop', path.join(root, 'loop'));
    expect(resolveInRoot(root, '/link')).toBe(path.join(root, 'link'));
    expect(resolveInRoot(root, '/link', { followLast: true })).toBe(path.join(root, 'etc/passwd'));
    expect(() => resolveInRoot(root, '/loop/x')).toThrow(/too many levels/);
    expect(() => resolveInRoot(root, '/etc/passwd/x')).toThrow(/not a directory/);
    expect(resolveInRoot(root, '/etc/new')).toBe(path.join(root, 'etc/new'));
  });
});
