import { WardenError } from '../../platform/errors';
import type { ContainerRecord, ContainerState } from '../container/container';
import { ContainerLocks } from './container-locks';
import { allows, checkTransition, fromStates, TRANSITIONS, type Verb } from './transitions';

const c = (state: ContainerState) => ({ id: 'x'.repeat(64), name: 'web', state }) as ContainerRecord;
const outcome = (verb: Verb, state: ContainerState) => {
  try {
    checkTransition(c(state), verb);
    return 'ok';
  } catch (err) {
    return (err as WardenError).code;
  }
};

describe('transition table', () => {
  it('says 409 with the state for a verb that does not apply, 304 where its goal holds', () => {
    expect(outcome('stop', 'running')).toBe('ok');
    expect(outcome('stop', 'exited')).toBe('CONTAINER_NOT_MODIFIED');
    expect(outcome('start', 'running')).toBe('CONTAINER_NOT_MODIFIED');
    expect(outcome('kill', 'exited')).toBe('CONTAINER_STATE_CONFLICT');
    expect(outcome('start', 'dead')).toBe('CONTAINER_STATE_CONFLICT');
    try {
      checkTransition(c('exited'), 'kill');
    } catch (err) {
      expect((err as WardenError).message).toBe('container web is exited: cannot kill (state exited)');
      expect((err as WardenError).detail).toMatchObject({
        state: 'exited',
        verb: 'kill',
        allowedFrom: ['running'],
      });
    }
  });

  it('every guarded write gets exactly the states its check allows', () => {
    for (const verb of Object.keys(TRANSITIONS) as Verb[])
      for (const s of ['created', 'running', 'paused', 'restarting', 'exited', 'dead'] as ContainerState[])
        expect(allows(verb, s)).toBe(fromStates(verb).includes(s));
    // An exit while paused is recorded too (a v2 freezer lets SIGKILL through; the OOM killer).
    expect(fromStates('exit')).toEqual(['running', 'paused']);
  });

  it('a restarting container: start is 304 (Docker counts it running), the policy and restart start it', () => {
    expect(outcome('start', 'restarting')).toBe('CONTAINER_NOT_MODIFIED');
    expect(outcome('restart', 'restarting')).toBe('ok');
    expect(outcome('policy', 'restarting')).toBe('ok');
    expect(outcome('policy', 'running')).toBe('CONTAINER_STATE_CONFLICT');
    expect(outcome('cancel', 'restarting')).toBe('ok');
    expect(outcome('exec', 'restarting')).toBe('CONTAINER_STATE_CONFLICT');
    expect(outcome('pause', 'restarting')).toBe('CONTAINER_STATE_CONFLICT');
  });
});

describe('ContainerLocks', () => {
  it('runs holders of one id one after another, and other ids at once', async () => {
    const locks = new ContainerLocks();
    const order: string[] = [];
    const step = (name: string, ms: number) => async (waited: boolean) => {
      order.push(`${name}:start:${waited}`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}:end`);
    };
    await Promise.all([
      locks.run('a', step('a1', 30)),
      locks.run('a', step('a2', 1)),
      locks.run('b', step('b1', 1)),
    ]);
    expect(order).toEqual([
      'a1:start:false',
      'b1:start:false',
      'b1:end',
      'a1:end',
      'a2:start:true',
      'a2:end',
    ]);
    expect(locks.held('a')).toBe(false);
  });

  it('a holder that throws releases the lock', async () => {
    const locks = new ContainerLocks();
    await expect(locks.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.run('a', async (waited) => waited)).toBe(false);
  });
});
