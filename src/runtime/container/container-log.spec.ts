import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerLog, logSize, readLog, type LogEntry } from './container-log';

const line = (log: string, stream: LogEntry['stream'] = 'stdout') =>
  `${JSON.stringify({ log, stream, time: '2026-12-02T18:00:00.123456789Z' })}\n`;

describe('ContainerLog: following the json-file log the shim writes', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'container-log-'));
    file = path.join(dir, 'log.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('delivers what is written from its start offset on, whole lines only, across a rotation', async () => {
    fs.writeFileSync(file, line('previous run\n'));
    const log = new ContainerLog(file, logSize(file));
    const seen: string[] = [];
    log.onEntry((e) => seen.push(e.log));
    const half = line('a\n');
    fs.appendFileSync(file, half.slice(0, 10));
    expect(log.position()).toBe(Buffer.byteLength(line('previous run\n')));
    expect(seen).toEqual([]); // a partial line waits for its end
    fs.appendFileSync(file, half.slice(10) + line('oops\n', 'stderr'));
    await log.whenDrained();
    expect(seen).toEqual(['a\n', 'oops\n']);
    // The shim rotates: the old file is read to its end, then the new one from its start.
    fs.appendFileSync(file, line('last of file 1\n'));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, line('first of file 2\n'));
    expect(log.position()).toBe(Buffer.byteLength(line('first of file 2\n')));
    expect(seen).toEqual(['a\n', 'oops\n', 'last of file 1\n', 'first of file 2\n']);
    let closed = false;
    log.onClosed(() => (closed = true));
    log.close();
    expect(closed).toBe(true);
    // The disk has it all, oldest file first, including what came before this run.
    const all = await readLog(file, {});
    expect(all.map((e) => e.log)).toEqual([
      'previous run\n',
      'a\n',
      'oops\n',
      'last of file 1\n',
      'first of file 2\n',
    ]);
    expect((await readLog(file, { stdout: false })).map((e) => e.log)).toEqual(['oops\n']);
  });

  it('hears a write without being asked (directory watch)', async () => {
    const log = new ContainerLog(file, 0);
    const got = new Promise<LogEntry>((resolve) => log.onEntry(resolve));
    fs.writeFileSync(file, line('hello\n'));
    await expect(got).resolves.toMatchObject({ log: 'hello\n', stream: 'stdout' });
    log.close();
  });
});
