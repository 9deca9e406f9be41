import { Inject, Injectable } from '@nestjs/common';
import { constants as osConstants } from 'node:os';
import { NodeLiveness } from '../../fleet';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import type { CgroupStats } from '../cgroups';
import { ContainerRecord } from './container';
import { ContainerFiles } from './container-files';
import { LogEntry, matches, readLog } from './container-log';
import { ContainerService } from './container.service';
import { cgroupLimits } from './run-config';
import { TOP_TITLES, topRows } from './top';

export interface ContainerView extends Omit<ContainerRecord, 'options' | 'state'> {
  /** As recorded, or `unknown` while its node is down (its heartbeat window passed; src/fleet). */
  state: ContainerRecord['state'] | 'unknown';
  /** With `unknown`: the state its row records, which its node will reconcile when it returns. */
  recordedState?: ContainerRecord['state'];
  autoRemove: boolean;
  healthcheck?: ContainerRecord['options']['healthcheck'];
  limits: ReturnType<typeof cgroupLimits>;
}

/** Read-only views of containers: inspect, logs, stats, top. */
@Injectable()
export class ContainerInspector {
  constructor(
    private readonly containers: ContainerService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly liveness: NodeLiveness,
  ) {}

  /** The nodes of these containers whose heartbeat window has passed (src/fleet). */
  downNodes(rows: ContainerRecord[]): Promise<Set<string>> {
    return this.liveness.down(rows.map((c) => c.node));
  }

  /** Views for list and inspect: a down node's running, paused or restarting containers show `unknown`. */
  async shownViews(rows: ContainerRecord[]): Promise<ContainerView[]> {
    const down = await this.downNodes(rows);
    return rows.map((c) => {
      const v = this.view(c);
      const shown = this.liveness.shown(c.state, c.node, down);
      return shown === c.state ? v : { ...v, state: 'unknown', recordedState: c.state };
    });
  }

  view(c: ContainerRecord): ContainerView {
    const { options, ...rest } = c;
    return {
      ...rest,
      autoRemove: options.autoRemove,
      ...(options.healthcheck ? { healthcheck: options.healthcheck } : {}),
      limits: cgroupLimits(c.spec),
    };
  }

  async logs(caller: Caller, ref: string, q: LogsQuery): Promise<LogEntry[]> {
    const c = assertLogsReadable(await this.containers.resolve(ref, caller));
    return readLog(new ContainerFiles(this.config.dataDir, c.id).log, logQuery(q));
  }

  /**
   * `logs --follow`: what is on disk, then every new entry until the container's log closes.
   * The log's position is taken (it catches up with the file first) and the listener attached
   * in the same tick, so the disk read stops exactly where the live entries begin: none is
   * missed or sent twice. `done` resolves when the log closes (at once when not running).
   */
  async follow(
    caller: Caller,
    ref: string,
    q: LogsQuery,
    send: (e: LogEntry) => void,
  ): Promise<{ done: Promise<void>; stop(): void }> {
    const c = assertLogsReadable(await this.containers.resolve(ref, caller));
    const path = new ContainerFiles(this.config.dataDir, c.id).log;
    const query = logQuery(q);
    const live = this.containers.liveContainer(c.id);
    let buffered: LogEntry[] | undefined = [];
    const cut = live?.log.position();
    const unsubscribe =
      live?.log.onEntry((e) => {
        if (!matches(e, { ...query, since: undefined })) return;
        if (buffered) buffered.push(e);
        else send(e);
      }) ?? (() => undefined);
    let unwatch: () => void = () => undefined;
    const done = live
      ? new Promise<void>((resolve) => (unwatch = live.log.onClosed(resolve)))
      : Promise.resolve();
    // A follower whose client left must let go of the log, not wait for the container's end.
    const stop = () => {
      unsubscribe();
      unwatch();
    };
    try {
      for (const e of await readLog(path, query, cut)) send(e);
    } catch (err) {
      stop();
      throw err;
    }
    for (const e of buffered) send(e);
    buffered = undefined;
    void done.then(stop);
    return { done, stop };
  }

  async stats(
    caller: Caller,
    ref: string,
  ): Promise<{ id: string; name: string; read: string; stats: CgroupStats }> {
    const { c, live } = await this.running(caller, ref);
    return { id: c.id, name: c.name, read: new Date().toISOString(), stats: await live.cgroup.stats() };
  }

  async top(caller: Caller, ref: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const { live } = await this.running(caller, ref);
    return { Titles: TOP_TITLES, Processes: topRows(await live.cgroup.pids()) };
  }

  /** A running container's process; a paused one counts (its processes are there) except for exec. */
  async running(caller: Caller, ref: string, forExec = false) {
    const c = await this.containers.resolve(ref, caller);
    const live = this.containers.liveContainer(c.id);
    if (c.state === 'paused' && forExec)
      throw new WardenError(
        'CONTAINER_STATE_CONFLICT',
        `container ${c.name} is paused, unpause the container before exec`,
        { id: c.id },
      );
    if ((c.state !== 'running' && c.state !== 'paused') || !live)
      throw new WardenError('CONTAINER_NOT_RUNNING', `container ${c.name} is not running`, { id: c.id });
    return { c, live };
  }

  /** `9`, `KILL`, `SIGKILL` → `SIGKILL`; unknown names are a 400, not a crash. */
  signalName(s: string | undefined): NodeJS.Signals {
    if (!s) return 'SIGKILL';
    const signals = osConstants.signals as Record<string, number>;
    if (/^\d+$/.test(s)) {
      const name = Object.keys(signals).find((k) => signals[k] === Number(s));
      if (name) return name as NodeJS.Signals;
    } else {
      const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
      if (name in signals) return name as NodeJS.Signals;
    }
    throw new WardenError('VALIDATION_FAILED', `invalid signal '${s}'`);
  }
}

export interface LogsQuery {
  tail?: number | 'all';
  /** RFC 3339 or unix seconds: entries at or after it. */
  since?: string;
  /** RFC 3339 or unix seconds: entries before it (the tail counts back from there). */
  until?: string;
  stdout?: boolean;
  stderr?: boolean;
}

function logQuery(q: LogsQuery) {
  return {
    tail: q.tail === 'all' ? undefined : q.tail,
    since: parseSince(q.since),
    until: parseSince(q.until),
    stdout: q.stdout,
    stderr: q.stderr,
  };
}

/** `--log-driver none` keeps nothing to read: Docker's message (its 501 is a 409 here: no 5xx for a state, as everywhere). */
export function assertLogsReadable(c: ContainerRecord): ContainerRecord {
  if (c.spec.logDriver === 'none')
    throw new WardenError('LOGS_NOT_READABLE', 'configured logging driver does not support reading', {
      id: c.id,
      driver: 'none',
    });
  return c;
}

/** RFC 3339 or unix seconds (with fraction), as `docker logs --since` sends them. */
export function parseSince(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return new Date(Number(s) * 1000);
  const d = new Date(s);
  if (Number.isNaN(d.getTime()))
    throw new WardenError('VALIDATION_FAILED', `invalid time '${s}': use RFC 3339 or unix seconds`);
  return d;
}
