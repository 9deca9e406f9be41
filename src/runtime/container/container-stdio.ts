import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import { attachShim, resizeShim, type ShimAttachment } from '../shim/shim-attach';
import type { ContainerRecord } from './container';
import { ContainerFiles } from './container-files';
import { ContainerRefs } from '../lifecycle/container-refs';
import { LiveContainers } from './live-containers';

export type { ShimAttachment } from '../shim/shim-attach';

export interface StdioSessionRequest {
  /** The terminal's output from the run's start (attach before start), or from now. */
  from: 'start' | 'now';
  /** The client sends stdin: an action on the container, audited. */
  stdin: boolean;
}

/**
 * A running container's stdin, terminal and size, through its shim's control socket
 * (shim/shim-attach.ts): the same for a container this Warden started and for one it adopted
 * from a previous Warden, since the shim holds both ends. Output without a terminal is read
 * from the log (ContainerLog), as `logs -f` reads it.
 */
@Injectable()
export class ContainerStdio {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly live: LiveContainers,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async open(caller: Caller, c: ContainerRecord, req: StdioSessionRequest): Promise<ShimAttachment> {
    this.running(c);
    return this.connect(caller, c, req);
  }

  /**
   * From the run's first byte, while its process waits before execve (LiveContainers.onReady:
   * the start is recorded, the shim's socket bound, nothing of the command has run).
   */
  openBeforeExec(caller: Caller, c: ContainerRecord, stdin: boolean): Promise<ShimAttachment> {
    return this.connect(caller, c, { from: 'start', stdin });
  }

  private async connect(
    caller: Caller,
    c: ContainerRecord,
    req: StdioSessionRequest,
  ): Promise<ShimAttachment> {
    if (req.stdin)
      await this.audit.record({
        type: 'api.call',
        principal: caller.principal.id,
        source: caller.source,
        subject: c.id,
        payload: { action: 'container.attach', stdin: true, tty: !!c.options.tty },
      });
    try {
      // No terminal and no log (`--log-driver none`): the output comes live from the shim.
      return await attachShim(this.stateDir(c), req.from, { records: liveOutput(c) });
    } catch (err) {
      throw this.gone(c, err);
    }
  }

  /** `POST /containers/{id}/resize`: the terminal's size (a container without one: nothing to do). */
  async resize(caller: Caller, ref: string, rows: number, cols: number): Promise<void> {
    const c = await this.refs.resolve(ref, scopeOf(caller.principal));
    this.running(c);
    if (!c.options.tty) return;
    try {
      await resizeShim(this.stateDir(c), rows, cols);
    } catch (err) {
      throw this.gone(c, err);
    }
  }

  private stateDir(c: ContainerRecord): string {
    return new ContainerFiles(this.config.dataDir, c.id).state;
  }

  /** Its process runs here (the record may be older: an attach made before the start). */
  private running(c: ContainerRecord): void {
    const lc = this.live.get(c.id);
    if (!lc || lc.exiting) throw notRunning(c);
  }

  /** The shim's socket is gone: the process ended between the check and the connect. */
  private gone(c: ContainerRecord, err: unknown): WardenError {
    const e = notRunning(c);
    return new WardenError(e.code, e.message, e.detail, { cause: err });
  }
}

/** A container whose output an attach reads from its shim, not from its log: none is kept. */
export function liveOutput(c: ContainerRecord): boolean {
  return !c.options.tty && c.spec.logDriver === 'none';
}

function notRunning(c: ContainerRecord): WardenError {
  return new WardenError('CONTAINER_STATE_CONFLICT', `Container ${c.id} is not running`, {
    id: c.id,
    state: c.state,
  });
}
