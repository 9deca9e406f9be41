import { Injectable } from '@nestjs/common';
import * as os from 'node:os';
import {
  assertAttachable,
  assertLogsReadable,
  AttachSessions,
  ContainerInspector,
  ContainerService,
  ContainerStdio,
  parseDetachKeys,
  websocketTransport,
} from '../runtime';
import type { CgroupStats, LogEntry, WaitCondition } from '../runtime';
import { WardenError } from '../platform/errors';
import { outputEncoding } from './stdio-stream';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { flag } from './query';
import { systemCpuNs } from './host-info';

const CONDITIONS: WaitCondition[] = ['not-running', 'next-exit', 'removed'];
const STATS_INTERVAL_MS = 1000;
// `stats --no-stream` needs two samples for a CPU percentage; Docker takes them 1 s apart.
const ONE_SHOT_GAP_MS = 250;

/** The streaming container routes: attach (hijacked and WebSocket), resize, wait, logs, stats, top. */
@Injectable()
export class DockerContainerStreamsController {
  constructor(
    private readonly containers: ContainerService,
    private readonly inspector: ContainerInspector,
    private readonly stdio: ContainerStdio,
    private readonly sessions: AttachSessions,
  ) {}

  register(r: DockerRouter): void {
    r.add('POST', '/containers/:id/attach', (q, s) => this.attach(q, s), WRITERS)
      .add('GET', '/containers/:id/attach/ws', (q, s) => this.attachWebSocket(q, s), WRITERS)
      .add('POST', '/containers/:id/resize', (q, s) => this.resize(q, s), WRITERS)
      .add('POST', '/containers/:id/wait', (q, s) => this.wait(q, s))
      .add('GET', '/containers/:id/logs', (q, s) => this.logs(q, s))
      .add('GET', '/containers/:id/stats', (q, s) => this.stats(q, s))
      .add('GET', '/containers/:id/top', (q, s) => this.top(q, s));
  }

  /** The hijacked attach (docker run, attach, start -a); the runtime's AttachSessions streams it. */
  private async attach(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const c = await this.containers.resolve(req.params.id, caller);
    assertAttachable(c);
    const want = { stdout: flag(req.query.get('stdout')), stderr: flag(req.query.get('stderr')) };
    const stdin = flag(req.query.get('stdin')) && c.options.openStdin;
    await this.sessions.authorize(caller, c, !!stdin);
    const detachKeys = parseDetachKeys(req.query.get('detachKeys'));
    // `logs=1`: what the container has written so far comes first; with `stream=0` that is
    // all, and the stream ends (an exited container has nothing more to send).
    const stream = req.query.get('stream') === null || flag(req.query.get('stream'));
    const history = flag(req.query.get('logs'))
      ? await this.inspector.logs(caller, c.id, { tail: 'all', stdout: want.stdout, stderr: want.stderr })
      : [];
    const enc = outputEncoding(!!c.options.tty);
    const h = reply.hijack(enc.contentType);
    if (!stream) {
      for (const e of history) h.out.write(enc.encode(e.stream, e.log));
      h.end();
      return;
    }
    this.sessions.run(caller, c, h, { want, stdin, history, detachKeys, encode: enc.encode });
  }

  /**
   * `GET /containers/{id}/attach/ws` (moby's swagger): the same attach over a WebSocket, raw
   * binary messages whatever the TTY; `stream`/`logs` as for the hijacked attach.
   */
  private async attachWebSocket(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const c = await this.containers.resolve(req.params.id, caller);
    assertAttachable(c);
    const q = req.query;
    const want = { stdout: flag(q.get('stdout')), stderr: flag(q.get('stderr')) };
    const detachKeys = parseDetachKeys(q.get('detachKeys'));
    await this.sessions.authorize(caller, c, !!(flag(q.get('stdin')) && c.options.openStdin));
    const history = flag(q.get('logs'))
      ? await this.inspector.logs(caller, c.id, { tail: 'all', ...want })
      : [];
    const ws = await reply.websocket();
    const t = websocketTransport(ws);
    const enc = outputEncoding(!!c.options.tty, 'websocket');
    const stdin = flag(q.get('stdin')) && c.options.openStdin;
    if (q.get('stream') !== null && !flag(q.get('stream'))) {
      for (const e of history) t.out.write(enc.encode(e.stream, e.log));
      return t.end();
    }
    this.sessions.run(caller, c, t, { want, stdin, history, detachKeys, encode: enc.encode });
  }

  /** `POST /containers/{id}/resize?h=&w=`: the terminal's size; 409 when it is not running. */
  private async resize(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const rows = Number(req.query.get('h') ?? 0);
    const cols = Number(req.query.get('w') ?? 0);
    await this.stdio.resize(caller, req.params.id, rows, cols);
    reply.empty(200);
  }

  /**
   * Headers go out as soon as the waiter is registered: the CLI sends `wait` before `start`
   * and does not start until the headers arrive. A client that leaves early costs nothing.
   */
  private async wait(req: DockerRequest, reply: DockerReply): Promise<void> {
    const condition = (req.query.get('condition') || 'not-running') as WaitCondition;
    if (!CONDITIONS.includes(condition))
      throw new WardenError(
        'VALIDATION_FAILED',
        `invalid condition '${condition}': use ${CONDITIONS.join(', ')}`,
      );
    // The same wait as REST's (lifecycle/wait.ts): registered before the headers go out.
    const { exit } = await this.containers.waitRegistered(await req.caller(), req.params.id, condition);
    const { out } = reply.stream(200, 'application/json');
    const { exitCode } = await exit;
    out.end(`${JSON.stringify({ StatusCode: exitCode, Error: null })}\n`);
  }

  private async logs(req: DockerRequest, reply: DockerReply): Promise<void> {
    const q = req.query;
    const stdout = flag(q.get('stdout'));
    const stderr = flag(q.get('stderr'));
    if (!stdout && !stderr)
      throw new WardenError('VALIDATION_FAILED', 'Bad parameters: you must choose at least one stream');
    const tailText = q.get('tail');
    const tail = tailText && /^\d+$/.test(tailText) ? Number(tailText) : 'all';
    const since = q.get('since') && q.get('since') !== '0' ? q.get('since')! : undefined;
    const untilText = q.get('until');
    const until = untilText && untilText !== '0' ? untilText : undefined;
    const stamps = flag(q.get('timestamps'));
    const query = { tail, since, until, stdout, stderr } as const;
    const caller = await req.caller();
    const c = await this.containers.resolve(req.params.id, caller);
    // A terminal's log is raw, as its attach is (the CLI reads it so when Config.Tty).
    const enc = outputEncoding(!!c.options.tty);
    const frame = (e: LogEntry) => enc.encode(e.stream, stamps ? `${e.time} ${e.log}` : e.log);
    // As Docker: following up to a time already past is no following at all; up to a time
    // ahead, the stream ends when it comes.
    const untilMs = until === undefined ? undefined : Date.parse(toIso(until));
    if (!flag(q.get('follow')) || (untilMs !== undefined && untilMs <= Date.now())) {
      const entries = await this.inspector.logs(caller, c.id, query);
      const { out } = reply.stream(200, enc.contentType);
      out.end(Buffer.concat(entries.map(frame)));
      return;
    }
    assertLogsReadable(c); // before the 200 goes out
    const { out, onClose } = reply.stream(200, enc.contentType);
    const f = await this.inspector.follow(caller, c.id, query, (e) => out.write(frame(e)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      f.done,
      new Promise<void>((r) => onClose(r)),
      new Promise<void>((r) => {
        if (untilMs !== undefined) timer = setTimeout(r, untilMs - Date.now());
      }),
    ]);
    clearTimeout(timer);
    f.stop();
    out.end();
  }

  private async stats(req: DockerRequest, reply: DockerReply): Promise<void> {
    const c = await this.containers.resolve(req.params.id, await req.caller());
    const stream = req.query.get('stream') === null || flag(req.query.get('stream'));
    const oneShot = flag(req.query.get('one-shot'));
    const sample = async () => {
      const live = this.containers.liveContainer(c.id);
      return {
        at: new Date(),
        system: systemCpuNs(),
        stats: live ? await live.cgroup.stats().catch(() => undefined) : undefined,
      };
    };
    let prev = await sample();
    if (!stream) {
      if (!oneShot && prev.stats) await new Promise((r) => setTimeout(r, ONE_SHOT_GAP_MS));
      const cur = oneShot ? prev : await sample();
      reply.json(200, statsJson(c.id, c.name, cur, oneShot ? undefined : prev));
      return;
    }
    const { out, onClose } = reply.stream(200, 'application/json');
    let open = true;
    onClose(() => (open = false));
    while (open) {
      await new Promise((r) => setTimeout(r, STATS_INTERVAL_MS));
      const cur = await sample();
      out.write(`${JSON.stringify(statsJson(c.id, c.name, cur, prev))}\n`);
      if (!cur.stats) break;
      prev = cur;
    }
    out.end();
  }

  private async top(req: DockerRequest, reply: DockerReply): Promise<void> {
    reply.json(200, await this.inspector.top(await req.caller(), req.params.id));
  }
}

function toIso(s: string): string {
  return /^\d+(\.\d+)?$/.test(s) ? new Date(Number(s) * 1000).toISOString() : s;
}

interface Sample {
  at: Date;
  system: number;
  stats?: CgroupStats;
}

function cpuJson(s: Sample | undefined) {
  const cpu = s?.stats?.cpu;
  return {
    cpu_usage: {
      total_usage: cpu?.usageNs ?? 0,
      usage_in_kernelmode: cpu?.systemNs ?? 0,
      usage_in_usermode: cpu?.userNs ?? 0,
    },
    system_cpu_usage: s?.system ?? 0,
    online_cpus: os.cpus().length,
    throttling_data: {
      periods: cpu?.nrPeriods ?? 0,
      throttled_periods: cpu?.nrThrottled ?? 0,
      throttled_time: cpu?.throttledNs ?? 0,
    },
  };
}

/** Per device and direction, as the Engine API lists them (the CLI sums Read/Write for BLOCK I/O). */
function blkioJson(cur: Sample): Record<string, unknown> {
  const io = cur.stats?.io;
  if (!io) return { io_service_bytes_recursive: null, io_serviced_recursive: null };
  const entries = (read: 'readBytes' | 'readOps', write: 'writeBytes' | 'writeOps') =>
    io.devices.flatMap((d) => [
      { major: d.major, minor: d.minor, op: 'read', value: d[read] },
      { major: d.major, minor: d.minor, op: 'write', value: d[write] },
    ]);
  return {
    io_service_bytes_recursive: entries('readBytes', 'writeBytes'),
    io_serviced_recursive: entries('readOps', 'writeOps'),
  };
}

/** The Engine API's stats object (a stopped container gets zeros, as in Docker). */
export function statsJson(id: string, name: string, cur: Sample, prev?: Sample): Record<string, unknown> {
  const m = cur.stats?.memory;
  return {
    read: cur.at.toISOString(),
    preread: prev ? prev.at.toISOString() : '0001-01-01T00:00:00Z',
    pids_stats: cur.stats
      ? {
          current: cur.stats.pids.current,
          ...(cur.stats.pids.limit >= 0 ? { limit: cur.stats.pids.limit } : {}),
        }
      : {},
    blkio_stats: blkioJson(cur),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuJson(cur),
    precpu_stats: cpuJson(prev),
    memory_stats: m
      ? {
          usage: m.usageBytes,
          ...(m.peakBytes !== null ? { max_usage: m.peakBytes } : {}),
          // Docker reports the host's memory when there is no limit.
          limit: m.limitBytes >= 0 ? m.limitBytes : os.totalmem(),
          stats: m.stat,
          failcnt: 0,
        }
      : {},
    name: `/${name}`,
    id,
  };
}
