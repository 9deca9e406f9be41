import { Injectable } from '@nestjs/common';
import { ExecNodes } from '../fleet';
import { ContainerInspector, DetachKeyFilter, ExecService, parseDetachKeys } from '../runtime';
import type { PreparedExec } from '../runtime';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { inScope, scopeOf, type Owner } from '../platform/scope';
import { outputEncoding } from './stdio-stream';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';

interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Cmd?: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

interface ExecInstance {
  id: string;
  containerId: string;
  /** Its container's owner: an exec session is seen by whoever sees its container. */
  owner: Owner;
  /** The policy's allowed decision, made at create: start runs what was judged. */
  prepared: PreparedExec;
  config: ExecConfig;
  createdBy: string;
  running: boolean;
  started: boolean;
  pid: number;
  exitCode: number | null;
  createdAt: number;
  detachKeys: Buffer;
  /** The terminal's size: the first one, then the last resize (applied once it runs). */
  size?: [number, number];
  resize?(rows: number, cols: number): void;
}

// Docker keeps finished exec instances until their container goes; a bound keeps a busy
// `docker exec` loop from growing this map without end.
const MAX_EXECS = 1000;

/**
 * `docker exec`: an exec instance is created (recorded here, in memory — like Docker's, it
 * does not outlive the engine; which node holds it is recorded in Redis for the fleet), then
 * started over a hijacked connection, then inspected for its exit code. The process itself is ExecService's (policy and audit are there).
 */
@Injectable()
export class DockerExecController {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(
    private readonly exec: ExecService,
    private readonly inspector: ContainerInspector,
    private readonly placements: ExecNodes,
  ) {}

  /** Held here: its start, resize and inspect are this node's to serve. */
  has(id: string): boolean {
    return this.execs.has(id);
  }

  register(r: DockerRouter): void {
    r.add('POST', '/containers/:id/exec', (q, s) => this.create(q, s), WRITERS)
      .add('POST', '/exec/:id/start', (q, s) => this.start(q, s), WRITERS)
      .add('POST', '/exec/:id/resize', (q, s) => this.resize(q, s), WRITERS)
      .add('GET', '/exec/:id/json', (q, s) => this.inspect(q, s));
  }

  private async create(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const body = await req.json<ExecConfig>();
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0)
      throw new WardenError('VALIDATION_FAILED', 'No exec command specified');
    const detachKeys = parseDetachKeys(body.DetachKeys);
    const { c } = await this.inspector.running(caller, req.params.id, true);
    // Judged here (a denial is the 403 `docker exec` prints); the terminal's size comes at start.
    const prepared = await this.exec.prepare(caller, c.id, {
      cmd: body.Cmd,
      env: body.Env?.filter((v) => v.includes('=')),
      user: body.User || undefined,
      workingDir: body.WorkingDir || undefined,
      privileged: !!body.Privileged,
      ...(body.Tty && { tty: { rows: 0, cols: 0 } }),
    });
    const id = prepared.id;
    if (this.execs.size >= MAX_EXECS) {
      const oldest = [...this.execs.values()].find((e) => !e.running);
      if (oldest) this.execs.delete(oldest.id);
    }
    this.execs.set(id, {
      id,
      containerId: c.id,
      owner: { team: c.team, createdBy: c.createdBy },
      prepared,
      config: body,
      createdBy: caller.principal.id,
      running: false,
      started: false,
      pid: 0,
      exitCode: null,
      createdAt: Date.now(),
      detachKeys,
      ...(body.Tty && body.ConsoleSize?.[0] && body.ConsoleSize[1] ? { size: body.ConsoleSize } : {}),
    });
    // Its start and inspect may reach any node of the fleet: they find it here (fleet/exec-nodes.ts).
    await this.placements.record(id);
    reply.json(201, { Id: id });
  }

  /** An exec session the caller's scope sees (its container's); 404 for any other. */
  private find(id: string, caller: Caller): ExecInstance {
    const e = this.execs.get(id);
    if (!e || !inScope(scopeOf(caller.principal), e.owner))
      throw new WardenError('EXEC_NOT_FOUND', `No such exec instance: ${id}`, { id });
    return e;
  }

  private async start(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const e = this.find(req.params.id, caller);
    const body = await req.json<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>();
    if (e.started)
      throw new WardenError('CONTAINER_RUNNING', `exec ${e.id} has already been started`, { id: e.id });
    e.started = true;
    if (e.config.Tty && body.ConsoleSize?.[0] && body.ConsoleSize[1]) e.size = body.ConsoleSize;
    if (body.Detach) {
      const { process, recorder } = await this.launch(e, false);
      for (const name of ['stdout', 'stderr'] as const)
        process[name]?.on('data', (d: Buffer) => recorder?.output(name, d));
      reply.empty(200);
      return;
    }
    const tty = !!e.config.Tty;
    const enc = outputEncoding(tty);
    const h = reply.hijack(enc.contentType);
    let launched;
    try {
      launched = await this.launch(e, !!e.config.AttachStdin && !!h.input);
    } catch (err) {
      // After the 101 the only way to tell the client is in the stream (as Docker does),
      // with the shell's exit codes for "not found" / "cannot run".
      const code = (err as WardenError).detail?.errno === 'ENOENT' ? 127 : 126;
      e.exitCode = code;
      h.out.write(enc.encode('stderr', `${(err as Error).message}\n`));
      h.end();
      return;
    }
    const { process, recorder } = launched;
    // The detach keys end the stream; the process goes on, its output drained unseen.
    let attached = true;
    h.onClose(() => (attached = false));
    const pumps = (['stdout', 'stderr'] as const).map((name) => {
      const s = process[name];
      return new Promise<void>((resolve) => {
        if (!s) return resolve();
        const wanted = name === 'stdout' ? e.config.AttachStdout !== false : e.config.AttachStderr !== false;
        s.on('data', (d: Buffer) => {
          recorder?.output(name, d); // the transcript's tee: every chunk relayed is recorded
          if (wanted && attached) h.out.write(enc.encode(name, d));
        });
        s.once('end', resolve);
        s.once('error', () => resolve());
      });
    });
    if (process.stdin && h.input) {
      process.stdin.on('error', () => undefined); // EPIPE once the process stops reading
      const filter = new DetachKeyFilter(e.detachKeys, () => {
        attached = false;
        h.end();
      });
      if (recorder && h.head.length) recorder.input(h.head);
      if (recorder) h.input.on('data', (d: Buffer) => recorder.input(d));
      if (h.head.length) filter.write(h.head);
      h.input.pipe(filter).pipe(process.stdin);
    }
    const status = await process.exited;
    await Promise.all(pumps);
    e.exitCode = status.exitCode;
    e.running = false;
    if (attached) h.end();
  }

  /** The exec's terminal size; before the process runs it is kept for its start. */
  private async resize(req: DockerRequest, reply: DockerReply): Promise<void> {
    const e = this.find(req.params.id, await req.caller());
    if (e.exitCode !== null)
      throw new WardenError('CONTAINER_STATE_CONFLICT', `exec ${e.id} is not running`, { id: e.id });
    const size: [number, number] = [Number(req.query.get('h') ?? 0), Number(req.query.get('w') ?? 0)];
    if (e.config.Tty) e.size = size;
    e.resize?.(...size);
    reply.empty(200);
  }

  private async launch(e: ExecInstance, stdin: boolean) {
    const [rows, cols] = e.size ?? [0, 0];
    if (e.prepared.req.tty) e.prepared.req.tty = { rows, cols };
    const launched = await this.exec.start(e.prepared, stdin);
    e.running = true;
    e.pid = launched.process.pid;
    const resize = launched.process.resize;
    if (resize) {
      e.resize = (r, c) => resize(r, c);
      // A resize that came while the process was starting: the latest size wins.
      if (e.size && (e.size[0] !== rows || e.size[1] !== cols)) resize(...e.size);
    }
    void launched.process.exited.then((s) => {
      e.running = false;
      e.exitCode = s.exitCode;
      e.resize = undefined;
    });
    return launched;
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const e = this.find(req.params.id, await req.caller());
    const [entrypoint, ...args] = e.config.Cmd ?? [];
    reply.json(200, {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: !!e.config.Tty,
        entrypoint,
        arguments: args,
        privileged: !!e.config.Privileged,
        user: e.config.User ?? '',
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: e.config.AttachStderr !== false,
      OpenStdout: e.config.AttachStdout !== false,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      Pid: e.pid,
    });
  }
}
