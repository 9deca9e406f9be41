import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLibcSyscalls, O_PATH } from '../../platform/ffi';
import { cleanPath, RootDir } from './root-dir';

const sys = createLibcSyscalls();

// The same rules whichever resolves: the kernel (openat2 RESOLVE_IN_ROOT) or the O_NOFOLLOW walk.
describe.each([
  ['openat2', false],
  ['the O_NOFOLLOW walk', true],
])('RootDir resolving with %s', (_how, walkOnly) => {
  let base: string;
  let rootDir: RootDir;
  const read = (p: string, followLast = true) => {
    const fd = rootDir.open(p, fs.constants.O_RDONLY, { followLast });
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  };

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'root-dir-'));
    const root = path.join(base, 'root');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'inside');
    fs.writeFileSync(path.join(base, 'outside', 'passwd'), 'host');
    fs.symlinkSync('/', path.join(root, 'to-root'));
    fs.symlinkSync('../../../..', path.join(root, 'etc', 'up'));
    fs.symlinkSync('../outside', path.join(root, 'escape'));
    fs.symlinkSync('/etc/passwd', path.join(root, 'link'));
    fs.symlinkSync('loop', path.join(root, 'loop'));
    rootDir = RootDir.open(sys, root, { walkOnly });
  });
  afterEach(() => {
    rootDir.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('uses the kernel only when asked to and able', () => {
    expect(rootDir.kernelResolves).toBe(!walkOnly);
  });

  it('keeps .. and absolute or relative symlinks inside the root', () => {
    expect(read('/../../etc/passwd')).toBe('inside');
    expect(read('/to-root/etc/passwd')).toBe('inside');
    expect(read('/etc/up/etc/passwd')).toBe('inside');
    expect(() => read('/escape/passwd')).toThrow(/no such file/);
    expect(rootDir.realpath('/escape')).toBe('/outside');
    expect(rootDir.realpath('/etc/up/to-root/link')).toBe('/etc/passwd');
  });

  it('follows the last link only when asked, and names the errors', () => {
    expect(read('/link')).toBe('inside');
    expect(() => read('/link', false)).toThrow(/too many levels/);
    const fd = rootDir.open('/link', O_PATH);
    expect(fs.fstatSync(fd).isSymbolicLink()).toBe(true);
    fs.closeSync(fd);
    expect(() => read('/loop/x')).toThrow(/too many levels/);
    expect(() => read('/etc/passwd/x')).toThrow(/not a directory/);
    expect(() => read('/nope/x')).toThrow(/no such file/);
  });
});

describe('cleanPath', () => {
  it('cleans as Docker does', () => {
    expect(cleanPath('a/b/../c/')).toBe('/a/c');
    expect(cleanPath('/../..')).toBe('/');
    expect(cleanPath('')).toBe('/');
  });
});
