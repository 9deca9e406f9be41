/**
 * The REST launch client of bench/launch, in its own process: a user's client (the docker
 * CLI, an SDK, curl) never runs on the server's event loop, and the anchors are timed from
 * their own bash process too. The bench forks this file and sends one message per launch; the
 * clock runs here, around the three requests, so the IPC around it is not counted.
 *
 *   parent → {image, token, url}   once, then {launch: n} per launch
 *   child  → {ms, create, start, exit} or {error}
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import { jsonRequest } from './json-request';

export interface Setup {
  url: string;
  token: string;
  image: string;
}

export interface LaunchTiming {
  ms: number;
  create: number;
  start: number;
  exit: number;
}

function clientMain(): void {
  let setup: Setup | undefined;
  // Keep-alive, as a CLI session or an SDK keeps its connection.
  const agent = new http.Agent({ keepAlive: true });
  const call = (method: string, path: string, body?: unknown) =>
    jsonRequest(agent, setup!.url, setup!.token, method, path, body);

  const launch = async (): Promise<LaunchTiming> => {
    const t0 = performance.now();
    const created = await call('POST', '/containers', { image: setup!.image, cmd: ['/bin/true'] });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body?.id as string;
    const t1 = performance.now();
    // As the docker CLI does: the wait is registered before the start.
    const waited = call('POST', `/containers/${id}/wait?condition=next-exit`);
    const started = await call('POST', `/containers/${id}/start`);
    if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
    const t2 = performance.now();
    const exit = await waited;
    const t3 = performance.now();
    if (exit.body?.statusCode !== 0) throw new Error(`wait: ${JSON.stringify(exit.body)}`);
    // After the clock: runc and crun delete their state before they exit, Warden's is separate.
    await call('DELETE', `/containers/${id}`);
    return { ms: t3 - t0, create: t1 - t0, start: t2 - t1, exit: t3 - t2 };
  };

  process.on('message', (msg: Setup | { launch: number }) => {
    if ('url' in msg) {
      setup = msg;
      process.send!({ ready: true });
      return;
    }
    launch().then(
      (t) => process.send!(t),
      (err: Error) => process.send!({ error: err.message }),
    );
  });
  process.on('disconnect', () => {
    agent.destroy();
    process.exit(0);
  });
}

if (require.main === module) clientMain();

export interface RestClient {
  pid: number;
  /** One timed launch (create, wait, start, wait answered; DELETE after the clock). */
  launch(): Promise<LaunchTiming>;
  close(): void;
}

/** Forks this file as a bench's REST client, set up for one Warden and image. */
export async function startRestClient(setup: Setup): Promise<RestClient> {
  const child = fork(__filename, [], { stdio: 'inherit' });
  const ask = <T>(msg: unknown) =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (m: T & { error?: string }) =>
        m.error ? reject(new Error(m.error)) : resolve(m),
      );
      child.send(msg as object);
    });
  await ask(setup);
  return { pid: child.pid!, launch: () => ask<LaunchTiming>({ launch: 1 }), close: () => child.disconnect() };
}
