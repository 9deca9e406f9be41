import { Client } from 'pg';
import { TRANSITIONS } from '../../src/runtime';
import { api, startFastWarden, type FastWarden } from './harness';

type State = 'created' | 'running' | 'exited' | 'dead';
type Verb = 'start' | 'stop' | 'kill' | 'restart' | 'remove' | 'exec' | 'wait';

/**
 * Every verb in every state, over REST, through the fake shim: what is allowed has its effect
 * (the state after it), what is not answers 409 naming the state, and a verb whose goal
 * already holds answers 304 as Docker does. Written out here, not derived from the table, so
 * a change to the table that nobody meant fails.
 */
const EXPECTED: Record<State, Record<Verb, [number, State | 'gone'] | [409]>> = {
  created: {
    start: [200, 'running'],
    stop: [304, 'created'],
    kill: [409],
    restart: [200, 'running'],
    remove: [204, 'gone'],
    exec: [409],
    wait: [200, 'created'],
  },
  running: {
    start: [304, 'running'],
    stop: [200, 'exited'],
    kill: [204, 'exited'],
    restart: [200, 'running'],
    remove: [409],
    exec: [200, 'running'],
    wait: [200, 'exited'], // answers when the process ends (killed below)
  },
  exited: {
    start: [200, 'running'],
    stop: [304, 'exited'],
    kill: [409],
    restart: [200, 'running'],
    remove: [204, 'gone'],
    exec: [409],
    wait: [200, 'exited'],
  },
  dead: {
    start: [409],
    stop: [409],
    kill: [409],
    restart: [409],
    remove: [204, 'gone'],
    exec: [409],
    wait: [200, 'dead'],
  },
};

describe('lifecycle: every verb × every state (fake shim, real PostgreSQL)', () => {
  let w: FastWarden;
  let n = 0;
  beforeAll(async () => (w = await startFastWarden()));
  afterAll(() => w.close());

  async function inState(state: State): Promise<{ id: string; name: string }> {
    const name = `m${n++}`;
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name, cmd: ['sleep', '300'] },
    });
    expect(c.status).toBe(201);
    if (state === 'running' || state === 'exited')
      expect((await api(w, 'POST', `/containers/${name}/start`)).status).toBe(200);
    if (state === 'exited') expect((await api(w, 'POST', `/containers/${name}/kill`)).status).toBe(204);
    if (state === 'dead') {
      const pg = new Client({ connectionString: w.databaseUrl });
      await pg.connect();
      await pg.query(`UPDATE containers SET state = 'dead' WHERE id = $1`, [c.body.id]);
      await pg.end();
    }
    expect((await api(w, 'GET', `/containers/${name}`)).body.state).toBe(state);
    return { id: c.body.id, name };
  }

  function send(verb: Verb, name: string) {
    switch (verb) {
      case 'remove':
        return api(w, 'DELETE', `/containers/${name}`);
      case 'exec':
        return api(w, 'POST', `/containers/${name}/exec`, { body: { cmd: ['echo', 'hi'] } });
      case 'stop':
      case 'restart':
        return api(w, 'POST', `/containers/${name}/${verb}?t=1`);
      default:
        return api(w, 'POST', `/containers/${name}/${verb}`);
    }
  }

  it('the table is the one written here', () => {
    expect(TRANSITIONS).toMatchObject({
      start: { from: ['created', 'exited'], already: ['running', 'restarting'] },
      stop: { from: ['running'], already: ['created', 'exited'] },
      kill: { from: ['running'] },
      restart: { from: ['created', 'running', 'exited', 'restarting'] },
      remove: { from: ['created', 'exited', 'dead'] },
      exec: { from: ['running'] },
    });
  });

  for (const state of Object.keys(EXPECTED) as State[]) {
    for (const verb of Object.keys(EXPECTED[state]) as Verb[]) {
      const [status, after] = EXPECTED[state][verb];
      it(`${verb} on a ${state} container → ${status}${after ? ` (${after})` : ''}`, async () => {
        const c = await inState(state);
        let r;
        if (verb === 'wait' && state === 'running') {
          const waiting = send('wait', c.name);
          await new Promise((res) => setTimeout(res, 50));
          expect((await api(w, 'POST', `/containers/${c.name}/kill?signal=TERM`)).status).toBe(204);
          r = await waiting;
          expect(r.body).toEqual({ statusCode: 143, oomKilled: false });
        } else r = await send(verb, c.name);
        expect([r.status, r.status >= 500 ? r.body : undefined]).toEqual([status, undefined]);
        if (status === 409) {
          expect(r.body.code).toBe(
            verb === 'remove' ? 'CONTAINER_STATE_CONFLICT' : 'CONTAINER_STATE_CONFLICT',
          );
          expect(r.body.message).toContain(
            `container ${c.name} is ${state}: cannot ${verb} (state ${state})`,
          );
          expect(r.body.detail).toMatchObject({ state, verb });
          // Nothing changed.
          expect((await api(w, 'GET', `/containers/${c.name}`)).body.state).toBe(state);
          return;
        }
        if (verb === 'exec') expect(r.body).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
        const now = await api(w, 'GET', `/containers/${c.name}`);
        if (after === 'gone') expect(now.status).toBe(404);
        else expect(now.body.state).toBe(after);
        // A running container is left with its process watched; nothing else is.
        expect(w.live.get(c.id) !== undefined).toBe(after === 'running');
      });
    }
  }
});
