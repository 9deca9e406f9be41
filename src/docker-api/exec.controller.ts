import { Injectable } from '@nestjs/common';
import { ExecService } from '../runtime';
import type { PreparedExec } from '../runtime';
import { WardenError } from '../platform/errors';
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
  config: ExecConfig;
  /** The policy's allowed decision, made at create: start runs what was judged. */
  prepared: PreparedExec;
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
 * its exit code. The policy decides at create (a denial is the 403 `docker exec` prints); the
 * process, its audit events and its recording are ExecService's. The relay below feeds the
 * session's transcript (`recorder`) with every chunk it passes, in both directions.
 */
@Injectable()
export class DockerExecController {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly exec: ExecService) {}

  register(r: DockerRouter): void {
    r.add('POST', '/containers/:id/exec', (q, s) => this.create(q, s), WRITERS)
      .add('POST', '/exec/:id/start', (q, s) => this.start(q, s), WRITERS)
      .add('POST', '/exec/:id/resize', async (_q, s) => s.empty(200))
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
    const prepared = await this.exec.prepare(caller, req.params.id, {
      cmd: body.Cmd,
      env: body.Env?.filter((v) => v.includes('=')),
      user: body.User || undefined,
      workingDir: body.WorkingDir || undefined,
      privileged: !!body.Privileged,
      tty: !!body.Tty,
    });
    const id = prepared.id;
    if (this.execs.size >= MAX_EXECS) {
      const oldest = [...this.execs.values()].find((e) => !e.running);
      if (oldest) this.execs.delete(oldest.id);
    }
    this.execs.set(id, {
      id,
      containerId: prepared.containerId,
      config: body,
      prepared,
      running: false,
      started: false,
      pid: 0,
      exitCode: null,
      createdAt: Date.now(),
    });
    reply.json(201, { Id: id });
  }

  private find(id: string): ExecInstance {
    const e = this.execs.get(id);
    if (!e) throw new WardenError('EXEC_NOT_FOUND', `No such exec instance: ${id}`, { id });
    return e;
  }

  private async start(req: DockerRequest, reply: DockerReply): Promise<void> {
    await req.caller();
    const e = this.find(req.params.id);
    const body = await req.json<{ Detach?: boolean; Tty?: boolean }>();
    if (e.started)
      throw new WardenError('CONTAINER_RUNNING', `exec ${e.id} has already been started`, { id: e.id });
    e.started = true;
    if (body.Detach) {
      const { process, recorder } = await this.launch(e, false);
      for (const name of ['stdout', 'stderr'] as const)
        process[name]?.on('data', (d: Buffer) => recorder?.output(name, d));
      reply.empty(200);
      return;
    }
    const h = reply.hijack('application/vnd.docker.raw-stream');
    let launched;
    try {
      launched = await this.launch(e, !!e.config.AttachStdin && !!h.input);
    } catch (err) {
      // After the 101 the only way to tell the client is in the stream (as Docker does),
      // with the shell's exit codes for "not found" / "cannot run".
      const code = (err as WardenError).detail?.errno === 'ENOENT' ? 127 : 126;
      e.exitCode = code;
      h.out.write(muxFrames('stderr', `${(err as Error).message}\n`));
      h.end();
      return;
    }
    const { process, recorder } = launched;
    const pumps = (['stdout', 'stderr'] as const).map((name) => {
      const s = process[name];
      return new Promise<void>((resolve) => {
        if (!s) return resolve();
        const wanted = name === 'stdout' ? e.config.AttachStdout !== false : e.config.AttachStderr !== false;
        s.on('data', (d: Buffer) => {
          recorder?.output(name, d); // the transcript's tee: every chunk relayed is recorded
          if (wanted) h.out.write(muxFrames(name, d));
        });
        s.once('end', resolve);
        s.once('error', () => resolve());
      });
    });
    if (process.stdin && h.input) {
      process.stdin.on('error', () => undefined); // EPIPE once the process stops reading
      if (h.head.length) process.stdin.write(h.head);
      if (recorder && h.head.length) recorder.input(h.head);
      if (recorder) h.input.on('data', (d: Buffer) => recorder.input(d));
      h.input.pipe(process.stdin);
    }
    const status = await process.exited;
    await Promise.all(pumps);
    e.exitCode = status.exitCode;
    e.running = false;
    h.end();
  }

  private async launch(e: ExecInstance, stdin: boolean) {
    const launched = await this.exec.start(e.prepared, stdin);
    e.running = true;
    e.pid = launched.process.pid;
    void launched.process.exited.then((s) => {
      e.running = false;
      e.exitCode = s.exitCode;
    });
    return launched;
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const e = this.find(req.params.id);
    const [entrypoint, ...args] = e.config.Cmd ?? [];
    reply.json(200, {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: false,
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
      DetachKeys: '',
      Pid: e.pid,
    });
  }
}
