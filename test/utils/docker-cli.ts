import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { importBusybox } from './containers';
import { startTestWarden, type TestWarden } from './warden';

/** The real docker client: DOCKER_BIN, else the first `docker` on the usual paths. */
export const DOCKER_BIN =
  process.env.DOCKER_BIN ??
  ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ??
  '/usr/local/bin/docker';
export const hasDockerCli = () => fs.existsSync(DOCKER_BIN);

/**
 * `describe` for a suite driving the real CLI against containers: it needs root (namespaces,
 * cgroups) and the client; in CI (root, client installed) it must run, never skip there.
 */
export function dockerCliSuite(what: string): jest.Describe {
  const ready = process.getuid?.() === 0 && hasDockerCli();
  if (!ready)
    console.warn(
      `${what} ${process.env.CI ? 'will fail' : 'skipped'}: needs root and a docker client (DOCKER_BIN or ${DOCKER_BIN})`,
    );
  return ready || process.env.CI ? describe : describe.skip;
}

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real docker CLI against one socket, with a private config dir so nothing from the
 * machine's ~/.docker (contexts, credential helpers) is used.
 */
export class DockerCli {
  readonly configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-docker-config-'));

  constructor(readonly socket: string) {}

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: this.configDir };
  }

  spawn(args: string[]): ChildProcess {
    return spawn(DOCKER_BIN, args, { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
  }

  run(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<DockerResult> {
    const child = this.spawn(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30000);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    );
  }

  /** Starts a streaming command and resolves once its stdout has `lines` lines, then kills it. */
  async lines(args: string[], lines: number, timeoutMs = 15000): Promise<string[]> {
    const child = this.spawn(args);
    child.stdin!.end();
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`docker ${args.join(' ')}: ${lines} lines not seen in time; got:\n${out}`));
      }, timeoutMs);
      child.stdout!.on('data', (d) => {
        out += d;
        const got = out.split('\n').filter(Boolean);
        if (got.length >= lines) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve(got);
        }
      });
    });
  }

  cleanup(): void {
    fs.rmSync(this.configDir, { recursive: true, force: true });
  }
}

/** A raw request on the socket, for what the CLI does not show (headers, HEAD, dropped clients). */
export function socketRequest(
  socketPath: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: p, headers: { host: 'docker' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) {
      req.setHeader('content-type', 'application/json');
      req.end(JSON.stringify(body));
    } else req.end();
  });
}

/** `docker …` that must succeed: its stdout, or an error carrying what it printed. */
export async function dockerOk(docker: DockerCli, args: string[]): Promise<string> {
  const r = await docker.run(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `docker …` that must fail: its stderr (what the user reads). */
export async function dockerFails(docker: DockerCli, args: string[]): Promise<string> {
  const r = await docker.run(args);
  if (r.code === 0) throw new Error(`docker ${args.join(' ')} succeeded; expected it to fail\n${r.stdout}`);
  return r.stderr;
}

/**
 * A test Warden serving the Docker API on a socket in a fresh temp dir, busybox:1.35
 * imported, and the real CLI pointed at it. `close` stops and removes all of it.
 */
export async function startDockerWarden(
  cgroupParent: string,
  env: Record<string, string> = {},
): Promise<{
  w: TestWarden;
  docker: DockerCli;
  tmp: string;
  socket: string;
  close(): Promise<void>;
}> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-'));
  const socket = path.join(tmp, 'docker.sock');
  const w = await startTestWarden('up', {
    WARDEN_DOCKER_SOCKET: socket,
    WARDEN_CGROUP_PARENT: cgroupParent,
    ...env,
  });
  await importBusybox(w);
  const docker = new DockerCli(socket);
  return {
    w,
    docker,
    tmp,
    socket,
    close: async () => {
      await w.close();
      docker.cleanup();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
