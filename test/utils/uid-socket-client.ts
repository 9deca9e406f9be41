import { ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

/**
 * A client of the Docker socket running as another uid, so the server's SO_PEERCRED sees that
 * uid and acts as the principal an admin mapped it to. One child process per uid answers
 * requests sent as JSON lines; a request is answered once its status is known (the body is
 * read only for an error or when asked, so streams and hijacks end there), or as status 0 when nothing
 * came within the timeout (a wait that was let through and blocks).
 */
const CHILD = `
const http = require('node:http');
const rl = require('node:readline').createInterface({ input: process.stdin });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
rl.on('line', (line) => {
  const q = JSON.parse(line);
  let done = false;
  const answer = (status, body) => { if (!done) { done = true; out({ id: q.id, status, body }); } };
  const headers = { host: 'docker' };
  let body;
  if (q.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(q.json); }
  const req = http.request({ socketPath: process.argv[1], method: q.method, path: q.path, headers }, (res) => {
    if (res.statusCode < 400 && !q.read) { answer(res.statusCode, ''); res.destroy(); return; }
    let t = '';
    res.on('data', (d) => (t += d));
    res.on('end', () => answer(res.statusCode, t));
  });
  req.setTimeout(q.timeoutMs, () => { answer(0, 'no answer within the timeout'); req.destroy(); });
  req.on('error', (e) => answer(-1, String(e)));
  req.end(body);
});
`;

export interface UidAnswer {
  status: number;
  body: string;
}

export class UidSocketClient {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (a: UidAnswer) => void>();
  private readonly lines: Interface;
  private next = 0;

  constructor(socket: string, uid: number) {
    this.child = spawn(process.execPath, ['-e', CHILD, socket], {
      uid,
      gid: uid,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (line) => {
      const a = JSON.parse(line) as UidAnswer & { id: number };
      this.waiting.get(a.id)?.({ status: a.status, body: a.body });
      this.waiting.delete(a.id);
    });
  }

  request(
    method: string,
    path: string,
    json?: unknown,
    opts: { read?: boolean; timeoutMs?: number } = {},
  ): Promise<UidAnswer> {
    const id = ++this.next;
    const { read = false, timeoutMs = 5000 } = opts;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, method, path, json, read, timeoutMs })}\n`);
    });
  }

  close(): void {
    this.lines.close();
    this.child.stdin!.destroy();
    this.child.stdout!.destroy();
    this.child.kill();
    this.child.unref();
  }
}
