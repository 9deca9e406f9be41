import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ContainerInspector, ExecService } from '../runtime';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { inScope, scopeOf, type Owner } from '../platform/scope';
import { muxFrames } from './frames';
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
}

interface ExecInstance {
  id: string;
  containerId: string;
  /** Its container's owner: an exec session is seen by whoever sees its container. */
  owner: Owner;
  config: ExecConfig;
  createdBy: string;
  running: boolean;
  started: boolean;
  pid: number;
  exitCode: number | null;
  createdAt: number;
}

// Docker keeps finished exec instances until their container goes; a bound keeps a busy
// `docker exec` loop from growing this map without end.
const MAX_EXECS = 1000;

/**
 * `docker exec`: an exec instance is created (recorded here, in memory — like Docker's, it
 * does not outlive the engine), then started over a hijacked connection, then inspected for
 * its exit code. The process itself is ExecService's (policy and audit are there).
 */
@Injectable()
export class DockerExecController {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(
    private readonly exec: ExecService,
    private readonly inspector: ContainerInspector,
  ) {}

  register(r: DockerRouter): void {
    r.add('POST', '/containers/:id/exec', (q, s) => this.create(q, s), WRITERS)
      .add('POST', '/exec/:id/start', (q, s) => this.start(q, s), WRITERS)
      .add(
        'POST',
        '/exec/:id/resize',
        async (q, s) => {
          this.find(q.params.id, await q.caller());
          s.empty(200);
        },
        WRITERS,
      )
      .add('GET', '/exec/:id/json', (q, s) => this.inspect(q, s));
  }

  private async create(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const body = await req.json<ExecConfig>();
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0)
      throw new WardenError('VALIDATION_FAILED', 'No exec command specified');
    if (body.Tty)
      throw new WardenError(
        'VALIDATION_FAILED',
        'TTY mode (-t) is not supported by Warden yet: run exec without -t',
      );
    if (body.Privileged)
      throw new WardenError('LAUNCH_DENIED', 'privileged exec is not allowed: leave --privileged out');
    const { c } = await this.inspector.running(caller, req.params.id, true);
    const id = randomBytes(32).toString('hex');
    if (this.execs.size >= MAX_EXECS) {
      const oldest = [...this.execs.values()].find((e) => !e.running);
      if (oldest) this.execs.delete(oldest.id);
    }
    this.execs.set(id, {
      id,
      containerId: c.id,
      owner: { team: c.team, createdBy: c.createdBy },
      config: body,
      createdBy: caller.principal.id,
      running: false,
      started: false,
      pid: 0,
      exitCode: null,
      createdAt: Date.now(),
    });
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
    const body = await req.json<{ Detach?: boolean; Tty?: boolean }>();
    if (e.started)
      throw new WardenError('CONTAINER_RUNNING', `exec ${e.id} has already been started`, { id: e.id });
    e.started = true;
    if (body.Detach) {
      const { process } = await this.launch(caller, e, false);
      process.stdout?.resume();
      process.stderr?.resume();
      reply.empty(200);
      return;
    }
    const h = reply.hijack('application/vnd.docker.raw-stream');
    let launched;
    try {
      launched = await this.launch(caller, e, !!e.config.AttachStdin && !!h.input);
    } catch (err) {
      // After the 101 the only way to tell the client is in the stream (as Docker does),
      // with the shell's exit codes for "not found" / "cannot run".
      const code = (err as WardenError).detail?.errno === 'ENOENT' ? 127 : 126;
      e.exitCode = code;
      h.out.write(muxFrames('stderr', `${(err as Error).message}\n`));
      h.end();
      return;
    }
    const { process } = launched;
    const pumps = (['stdout', 'stderr'] as const).map((name) => {
      const s = process[name];
      return new Promise<void>((resolve) => {
        if (!s) return resolve();
        const wanted = name === 'stdout' ? e.config.AttachStdout !== false : e.config.AttachStderr !== false;
        s.on('data', (d: Buffer) => {
          if (wanted) h.out.write(muxFrames(name, d));
        });
        s.once('end', resolve);
        s.once('error', () => resolve());
      });
    });
    if (process.stdin && h.input) {
      process.stdin.on('error', () => undefined); // EPIPE once the process stops reading
      if (h.head.length) process.stdin.write(h.head);
      h.input.pipe(process.stdin);
    }
    const status = await process.exited;
    await Promise.all(pumps);
    e.exitCode = status.exitCode;
    e.running = false;
    h.end();
  }

  private async launch(caller: Caller, e: ExecInstance, stdin: boolean) {
    const launched = await this.exec.launch(
      caller,
      e.containerId,
      {
        cmd: e.config.Cmd!,
        env: e.config.Env?.filter((v) => v.includes('=')),
        user: e.config.User || undefined,
        workingDir: e.config.WorkingDir || undefined,
      },
      stdin,
    );
    e.running = true;
    e.pid = launched.process.pid;
    void launched.process.exited.then((s) => {
      e.running = false;
      e.exitCode = s.exitCode;
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
        tty: false,
        entrypoint,
        arguments: args,
        privileged: false,
        user: e.config.User ?? '',
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: e.config.AttachStderr !== false,
      OpenStdout: e.config.AttachStdout !== false,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: '',
      Pid: e.pid,
    });
  }
}
