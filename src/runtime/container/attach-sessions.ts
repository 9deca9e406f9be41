import { Injectable } from '@nestjs/common';
import type { Readable, Writable } from 'node:stream';
import { WardenError } from '../../platform/errors';
import { parseImageReference, PolicyService } from '../../policy';
import type { Caller } from '../../platform/http';
import type { ContainerRecord } from './container';
import { ContainerStdio, liveOutput, type ShimAttachment } from './container-stdio';
import type { OutputRecord } from '../shim/shim-attach';
import type { LogEntry } from './container-log';
import { DetachKeyFilter } from './detach-keys';
import { LiveContainers, type LiveContainer } from './live-containers';

/** Docker's one refusal before an attach streams: a paused container cannot take one (409). */
export function assertAttachable(c: ContainerRecord): void {
  if (c.state === 'paused')
    throw new WardenError(
      'CONTAINER_STATE_CONFLICT',
      `container ${c.name} is paused, unpause the container before attach`,
      { id: c.id, state: c.state },
    );
}

/** What carries an attach: a hijacked HTTP connection (Docker API), a WebSocket (both APIs). */
export interface AttachTransport {
  out: Writable;
  /** The client's bytes; null when it cannot send any. */
  input: Readable | null;
  /** Client bytes that arrived with the request, before `input`. */
  head: Buffer;
  end(): void;
  onClose(fn: () => void): void;
}

export interface AttachRequest {
  want: Record<LogEntry['stream'], boolean>;
  /** The client's bytes go to the container's stdin (it has one: OpenStdin). */
  stdin: boolean;
  /** `logs=1`: what the container wrote so far, sent first. */
  history: LogEntry[];
  /** The detach sequence (parseDetachKeys). */
  detachKeys: Buffer;
  /** How output goes on this transport (the Docker API's frame/raw rule, or raw). */
  encode(stream: LogEntry['stream'], data: Buffer | string): Buffer;
}

/**
 * One attach, over whatever carries it: the container's output in the transport's encoding,
 * the client's stdin through the detach-key filter to the shim, until the process ends (the
 * stream ends), the client detaches (ctrl-p ctrl-q: the stream ends, the container goes on)
 * or leaves.
 *
 * `docker run` attaches before it starts the container: the session subscribes to the start,
 * so no output is missed. Without a terminal the output is read from the log (it ends once
 * the log closes, after the process's output is drained); with one, or with no log at all
 * (`--log-driver none`), from the shim's attach session (ContainerStdio), from the run's first
 * byte when the attach came first.
 */
@Injectable()
export class AttachSessions {
  constructor(
    private readonly live: LiveContainers,
    private readonly stdio: ContainerStdio,
    private readonly policy: PolicyService,
  ) {}

  /**
   * The caller's policy on this attach (`attach.allow`, `attach.allowStdin`), decided and
   * recorded before anything streams: 403 with the reasons when denied. Every attach surface
   * (the hijacked Docker attach, both WebSocket attaches) calls it after its own checks.
   */
  async authorize(caller: Caller, c: ContainerRecord, stdin: boolean): Promise<void> {
    const parsed = parseImageReference(c.image);
    const decision = await this.policy.decideAttach(caller, {
      container: {
        id: c.id,
        name: c.name,
        image: parsed.ok ? parsed.ref : { registry: '', repository: c.image },
        labels: c.spec.labels,
      },
      stdin,
      tty: !!c.options.tty,
    });
    if (!decision.allowed)
      throw new WardenError('ATTACH_DENIED', decision.reasons.map((r) => r.message).join('; '), {
        policy: decision.policy,
        policyVersion: decision.policyVersion,
        reasons: decision.reasons,
      });
  }

  run(caller: Caller, c: ContainerRecord, t: AttachTransport, req: AttachRequest): void {
    const tty = !!c.options.tty;
    for (const e of req.history) if (req.want[e.stream]) t.out.write(req.encode(e.stream, e.log));
    const cleanups: Array<() => void> = [];
    let attached = false;
    let closed = false;
    // Attached before the start: the shim session opens while the process waits before
    // execve, so a command that ends at once has not ended before it (`--log-driver none`
    // keeps nothing to read afterwards).
    let opened: Promise<ShimAttachment | undefined> | undefined;
    if (tty || liveOutput(c) || (req.stdin && t.input))
      cleanups.push(
        this.live.onReady(c.id, () => {
          if (attached) return Promise.resolve(); // to an earlier run: this one is not its
          opened ??= this.stdio.openBeforeExec(caller, c, req.stdin).catch(() => undefined);
          return opened.then(() => undefined);
        }),
        () => void opened?.then((s) => s?.close()),
      );
    const attachTo = (lc: LiveContainer, fromStart: boolean) => {
      if (attached) return;
      attached = true;
      // `--log-driver none` without a terminal: there is no log to read; the shim's live output.
      const live = liveOutput(c);
      if (!tty && !live) {
        cleanups.push(
          lc.log.onEntry((e: LogEntry) => {
            if (req.want[e.stream]) t.out.write(req.encode(e.stream, e.log));
          }),
        );
        cleanups.push(lc.log.onClosed(() => t.end()));
      }
      if (!tty && !live && !(req.stdin && t.input)) return;
      // A terminal's output also goes to the log. Attached from the start, it is kept until
      // the session opens: a process that ends before that (`docker run -t echo hi`) has
      // taken its shim and the ring with it, and the log then has the whole run.
      const early: LogEntry[] = [];
      const keep = tty && fromStart ? lc.log.onEntry((e) => early.push(e)) : undefined;
      // The log's copy as the session's fallback: a session that opens as the run ends can
      // get none of its output from the shim (its end came first), while the log has it all.
      const fromLog = () => {
        for (const e of early) if (req.want.stdout) t.out.write(req.encode('stdout', e.log));
        cleanups.push(lc.log.onEntry((e) => req.want.stdout && t.out.write(req.encode('stdout', e.log))));
        cleanups.push(lc.log.onClosed(() => t.end()));
      };
      const open = () => this.stdio.open(caller, c, { from: fromStart ? 'start' : 'now', stdin: req.stdin });
      (opened && fromStart ? opened.then((s) => s ?? open()) : open()).then(
        (session) => {
          if (closed) {
            keep?.();
            return session.close();
          }
          cleanups.push(() => session.close());
          this.connect(c, t, req, session, keep && { keep, fromLog });
        },
        () => {
          keep?.();
          if (!keep) return t.end(); // it ended before the session could open
          fromLog();
        },
      );
    };
    cleanups.push(this.live.onStarted(c.id, (lc) => attachTo(lc, true)));
    const running = this.live.get(c.id);
    if (running) attachTo(running, false);
    t.onClose(() => {
      closed = true;
      cleanups.forEach((f) => f());
    });
  }

  private connect(
    c: ContainerRecord,
    t: AttachTransport,
    req: AttachRequest,
    session: ShimAttachment,
    fallback?: { keep: () => void; fromLog: () => void },
  ): void {
    const tty = !!c.options.tty;
    if (tty) {
      let got = false;
      session.output.on('data', (d: Buffer) => {
        if (!got) fallback?.keep(); // the shim has the run: the log's copy is not needed
        got = true;
        if (req.want.stdout) t.out.write(req.encode('stdout', d));
      });
      session.output.once('end', () => {
        if (!got && fallback) {
          fallback.keep();
          return fallback.fromLog();
        }
        fallback?.keep();
        t.end();
      });
    } else if (liveOutput(c)) {
      session.output.on('data', (r: OutputRecord) => {
        if (req.want[r.stream]) t.out.write(req.encode(r.stream, r.data));
      });
      session.output.once('end', () => t.end());
    } else fallback?.keep();
    if (!req.stdin || !t.input) return;
    const filter = new DetachKeyFilter(req.detachKeys, () => {
      session.close();
      t.end();
    });
    if (t.head.length) filter.write(t.head);
    t.input.pipe(filter).pipe(session.stdin);
    // Docker's StdinOnce: the client's end of input ends a pipe's; a terminal stays open.
    session.stdin.once('finish', () => {
      if (!tty && c.options.stdinOnce) session.closeStdin();
    });
  }
}
