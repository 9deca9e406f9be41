import { EventEmitter } from 'node:events';
import type { RestartPolicy } from '../../policy';
import type { CgroupHandle } from '../cgroups';
import type { ExitStatus, LaunchedProcess } from '../shim/launch-shim';
import type { ContainerLog } from './container-log';

/** A container whose process this Warden started and watches. */
export interface LiveContainer {
  id: string;
  process: LaunchedProcess;
  pidfd: number;
  cgroup: CgroupHandle;
  log: ContainerLog;
  /** Resolves once the exit is recorded (state, audit, cgroup gone). */
  finished: Promise<ExitStatus>;
  /** A client (or Warden stopping) ends it: its restart policy does not start it again. */
  stopping: boolean;
  /** A restart policy set by `docker update` while it ran (null: none); absent = as its row. */
  restartPolicy?: RestartPolicy | null;
  /** When its process started (ms since the epoch): how long a run lasted sets the backoff. */
  startedAtMs?: number;
  /** The process has ended and its exit is being recorded (the row may still say running). */
  exiting?: boolean;
  /** Adopted from a previous Warden: closes the connection to its shim's control socket. */
  detach?: () => void;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** What a waiter learns: the exit code, and whether the kernel's OOM killer ended the process. */
export interface ExitNotice {
  exitCode: number;
  oomKilled: boolean;
}

/**
 * In-memory state for containers running on this node, and the waiters for their exits:
 * the database says what a container is; this says what this process is doing with it.
 */
export class LiveContainers {
  private readonly live = new Map<string, LiveContainer>();
  private readonly waiters = new Map<
    string,
    Array<{ condition: WaitCondition; resolve: (exit: ExitNotice) => void }>
  >();
  private readonly starts = new EventEmitter().setMaxListeners(0);
  private readonly readies = new Map<string, Set<() => Promise<void>>>();

  get(id: string): LiveContainer | undefined {
    return this.live.get(id);
  }

  set(c: LiveContainer): void {
    this.live.set(c.id, c);
  }

  delete(id: string): void {
    this.live.delete(id);
  }

  all(): LiveContainer[] {
    return [...this.live.values()];
  }

  /** Registers a waiter; `wait` arriving before `start` (as the docker CLI sends it) still sees the exit. */
  wait(id: string, condition: WaitCondition): Promise<ExitNotice> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(id, list);
    });
  }

  /**
   * Attach-before-start (docker run): the listener gets the live container the moment its
   * process exists, before any output can have been produced unread.
   */
  onStarted(id: string, fn: (c: LiveContainer) => void): () => void {
    this.starts.on(id, fn);
    return () => this.starts.off(id, fn);
  }

  started(c: LiveContainer): void {
    this.starts.emit(c.id, c);
  }

  /**
   * Attach-before-start, the part that must come before the command runs: `fn` is called
   * while the process waits before execve (the start's beforeExec), its shim's control socket
   * bound; a session it opens is served from the run's first byte. Runs for one start only.
   */
  onReady(id: string, fn: () => Promise<void>): () => void {
    const set = this.readies.get(id) ?? new Set();
    set.add(fn);
    this.readies.set(id, set);
    return () => {
      set.delete(fn);
      if (!set.size && this.readies.get(id) === set) this.readies.delete(id);
    };
  }

  /**
   * Runs the waiting {@link onReady} hooks, at most `timeoutMs`: an attach that cannot open
   * in time (or fails) does not hold the start; it opens after the start, as an attach does.
   */
  async ready(id: string, timeoutMs: number): Promise<void> {
    const set = this.readies.get(id);
    if (!set) return;
    this.readies.delete(id);
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const all = Promise.all([...set].map((fn) => fn().catch(() => undefined)));
    await Promise.race([all, bounded]).finally(() => clearTimeout(timer));
  }

  /** Called when a container's process exited (and again when it is removed). */
  notify(id: string, event: 'exited' | 'removed', exit: ExitNotice): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const keep = list.filter((w) => {
      const fire = event === 'removed' || w.condition !== 'removed';
      if (fire) w.resolve(exit);
      return !fire;
    });
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }
}
