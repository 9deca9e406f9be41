import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditService } from '../../audit';
import { loadConfig } from '../../platform/config';
import { TranscriptPruner } from './transcript-pruner';

const DAY = 86_400_000;
const id = (c: string) => c.repeat(64);

describe('TranscriptPruner: exec transcripts past their retention', () => {
  let dataDir: string;
  let dir: string;
  const recorded: Array<{ type: string; payload: Record<string, unknown> }> = [];
  let failAudit = false;
  const audit = {
    record: async (e: { type: string; payload: Record<string, unknown> }) => {
      if (failAudit) throw new Error('audit store down');
      recorded.push(e);
      return e;
    },
  } as unknown as AuditService;
  const pruner = (retention: string) =>
    new TranscriptPruner(
      audit,
      loadConfig({
        WARDEN_DATA_DIR: dataDir,
        DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
        REDIS_URL: 'redis://127.0.0.1:1',
        WARDEN_ADMIN_TOKEN: 'a'.repeat(32),
        WARDEN_EXEC_TRANSCRIPT_RETENTION: retention,
      }),
    );
  const write = (execId: string, text: string, ageMs: number) => {
    const file = path.join(dir, `${execId}.cast`);
    fs.writeFileSync(file, text);
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(file, t, t);
    return file;
  };

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-prune-'));
    dir = path.join(dataDir, 'exec-recordings');
    fs.mkdirSync(dir);
    recorded.length = 0;
    failAudit = false;
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('removes transcripts whose last write is past the retention, after one audit event naming them with their hashes', async () => {
    const old = write(id('a'), '{"version":2}\nold session\n', 31 * DAY);
    const fresh = write(id('b'), '{"version":2}\nrecent\n', 29 * DAY);
    const other = path.join(dir, 'notes.txt');
    fs.writeFileSync(other, 'not a transcript');
    fs.utimesSync(other, new Date(0), new Date(0));

    const pruned = await pruner('30d').prune();
    expect(pruned.map((p) => p.execId)).toEqual([id('a')]);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(fs.existsSync(other)).toBe(true);
    expect(recorded).toEqual([
      expect.objectContaining({
        type: 'exec.recordings.pruned',
        payload: {
          retentionMs: 30 * DAY,
          count: 1,
          transcripts: [
            {
              execId: id('a'),
              sha256: createHash('sha256').update('{"version":2}\nold session\n').digest('hex'),
              bytes: 26,
              lastWrite: expect.any(String),
            },
          ],
        },
      }),
    ]);
    // Nothing left to prune: no event.
    expect(await pruner('30d').prune()).toEqual([]);
    expect(recorded).toHaveLength(1);
  });

  it('keeps everything when the audit event cannot be written (fail closed), and with retention 0', async () => {
    const old = write(id('c'), 'x', 400 * DAY);
    failAudit = true;
    await expect(pruner('1h').prune()).rejects.toThrow('audit store down');
    expect(fs.existsSync(old)).toBe(true);
    failAudit = false;
    expect(await pruner('0').prune()).toEqual([]);
    expect(fs.existsSync(old)).toBe(true);
    expect(recorded).toEqual([]);
  });

  it('reads the retention as a duration and refuses anything else at boot', () => {
    expect(pruner('12h')).toBeInstanceOf(TranscriptPruner);
    expect(() => pruner('ten days')).toThrow(/WARDEN_EXEC_TRANSCRIPT_RETENTION.*duration/s);
  });
});
