import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordingPath, SessionRecorder } from './session-recorder';

describe('SessionRecorder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const id = (n: number) => n.toString(16).padStart(64, '0');
  const lines = (file: string) =>
    fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it('writes asciicast v2 whose sha256 and size are what close() reports; UTF-8 split across chunks stays whole', () => {
    const file = recordingPath(dir, id(1));
    const r = new SessionRecorder(file, 4096, { warden: { execId: id(1) } });
    const euro = Buffer.from('€\n');
    r.output('stdout', euro.subarray(0, 1));
    r.output('stdout', euro.subarray(1));
    r.input(Buffer.from('ls\n'));
    r.output('stderr', Buffer.from('oops\n'));
    const s = r.close();
    const bytes = fs.readFileSync(file);
    expect(s).toEqual({
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      truncated: false,
    });
    const [header, ...events] = lines(file);
    expect(header).toMatchObject({ version: 2, warden: { execId: id(1) } });
    expect(events.map((e) => [e[1], e[2]])).toEqual([
      ['o', '€\n'],
      ['i', 'ls\n'],
      ['o', 'oops\n'],
    ]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(r.close()).toBe(s); // idempotent
  });

  it('stops at the cap with a marker, and never exceeds it', () => {
    const file = recordingPath(dir, id(2));
    const r = new SessionRecorder(file, 1024, {});
    for (let i = 0; i < 100; i++) r.output('stdout', Buffer.from(`line ${i} ${'x'.repeat(40)}\n`));
    const s = r.close();
    expect(s.truncated).toBe(true);
    expect(s.bytes).toBeLessThanOrEqual(1024);
    expect(lines(file).at(-1)).toEqual([
      expect.any(Number),
      'm',
      'transcript cut: cap of 1024 bytes reached',
    ]);
  });

  it('refuses an id that is not one (no path outside the recordings dir)', () => {
    expect(() => recordingPath(dir, '../../etc/passwd')).toThrow(/not an exec id/);
  });
});
