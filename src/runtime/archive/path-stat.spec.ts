import { goFileMode, pathStatHeader } from './path-stat';

describe('goFileMode', () => {
  it("puts the type in Go's high bits and keeps the permission bits", () => {
    expect(goFileMode({ mode: 0o040755 })).toBe(2 ** 31 + 0o755);
    expect(goFileMode({ mode: 0o120777 })).toBe(2 ** 27 + 0o777);
    expect(goFileMode({ mode: 0o100644 })).toBe(0o644);
    expect(goFileMode({ mode: 0o020666 })).toBe(2 ** 26 + 2 ** 21 + 0o666);
    expect(goFileMode({ mode: 0o041777 })).toBe(2 ** 31 + 2 ** 20 + 0o777);
    expect(goFileMode({ mode: 0o104755 })).toBe(2 ** 23 + 0o755);
  });

  it('encodes the stat as base64 JSON', () => {
    const h = pathStatHeader({
      name: 'etc',
      size: 4096,
      mode: 2 ** 31 + 0o755,
      mtime: '2026-01-01T00:00:00Z',
      linkTarget: '',
    });
    expect(JSON.parse(Buffer.from(h, 'base64').toString())).toEqual({
      name: 'etc',
      size: 4096,
      mode: 2147484141,
      mtime: '2026-01-01T00:00:00Z',
      linkTarget: '',
    });
  });
});
