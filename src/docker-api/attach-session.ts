import { Injectable } from '@nestjs/common';
import { ContainerService, ContainerStdio, LiveContainers } from '../runtime';
import type { ContainerRecord, LogEntry, ShimAttachment } from '../runtime';
import type { Caller } from '../platform/http';
import type { Hijacked } from './docker-http';
import { DetachKeyFilter, outputEncoding } from './stdio-stream';

type LiveContainer = NonNullable<ReturnType<ContainerService['liveContainer']>>;

export interface AttachRequest {
  want: Record<LogEntry['stream'], boolean>;
  /** The client's bytes go to the container's stdin (it has one: OpenStdin). */
  stdin: boolean;
  /** `logs=1`: what the container wrote so far, sent first. */
  history: LogEntry[];
  /** The detach sequence (parseDetachKeys). */
  detachKeys: Buffer;
}

/**
 * One attach, over whatever carries it (a hijacked HTTP connection, a WebSocket): the
 * container's output in the stream's encoding (stdio-stream.ts), the client's stdin through the
 * detach-key filter to the shim, until the process ends (the stream ends), the client
 * detaches (ctrl-p ctrl-q: the stream ends, the container goes on) or leaves.
 *
 * `docker run` attaches before it starts the container: the session subscribes to the start,
 * so no output is missed. Without a terminal the output is read from the log (it ends once
 * the log closes, after the process's output is drained); with one, from the shim's attach
 * session, from the run's first byte when the attach came first.
 */
@Injectable()
export class AttachSessions {
  constructor(
    private readonly containers: ContainerService,
    private readonly live: LiveContainers,
    private readonly stdio: ContainerStdio,
  ) {}

  run(caller: Caller, c: ContainerRecord, h: Hijacked, req: AttachRequest): void {
    const tty = !!c.options.tty;
    const enc = outputEncoding(tty);
    for (const e of req.history) if (req.want[e.stream]) h.out.write(enc.encode(e.stream, e.log));
    const cleanups: Array<() => void> = [];
    let attached = false;
    let closed = false;
    const attachTo = (lc: LiveContainer, fromStart: boolean) => {
      if (attached) return;
      attached = true;
      if (!tty) {
        cleanups.push(
          lc.log.onEntry((e: LogEntry) => {
            if (req.want[e.stream]) h.out.write(enc.encode(e.stream, e.log));
          }),
        );
        lc.log.onClosed(() => h.end());
      }
      if (!tty && !(req.stdin && h.input)) return;
      this.stdio.open(caller, c, { from: fromStart ? 'start' : 'now', stdin: req.stdin }).then(
        (session) => {
          if (closed) return session.close();
          cleanups.push(() => session.close());
          this.connect(c, h, req, session);
        },
        () => h.end(), // it ended before the session could open: nothing more will come
      );
    };
    cleanups.push(this.live.onStarted(c.id, (lc) => attachTo(lc, true)));
    const running = this.containers.liveContainer(c.id);
    if (running) attachTo(running, false);
    h.onClose(() => {
      closed = true;
      cleanups.forEach((f) => f());
    });
  }

  private connect(c: ContainerRecord, h: Hijacked, req: AttachRequest, session: ShimAttachment): void {
    const tty = !!c.options.tty;
    if (tty) {
      session.output.on('data', (d: Buffer) => {
        if (req.want.stdout) h.out.write(d);
      });
      session.output.once('end', () => h.end());
    }
    if (!req.stdin || !h.input) return;
    const filter = new DetachKeyFilter(req.detachKeys, () => {
      session.close();
      h.end();
    });
    if (h.head.length) filter.write(h.head);
    h.input.pipe(filter).pipe(session.stdin);
    // Docker's StdinOnce: the client's end of input ends a pipe's; a terminal stays open.
    session.stdin.once('finish', () => {
      if (!tty && c.options.stdinOnce) session.closeStdin();
    });
  }
}
