import { WardenError } from '../../platform/errors';
import type { ContainerRecord, ContainerState } from '../container/container';

/**
 * A container's lifecycle: the single source of which verb applies in which state. Every verb
 * (one file each in this folder) checks its row here under the container's lock, and writes
 * with an UPDATE (or DELETE) guarded by the same `from` states, so that a race anywhere —
 * another request, another Warden on the same database, the process's own exit — answers
 * 409 with the state it found, never 500.
 *
 *   verb       from                         to                         otherwise
 *   ---------  ---------------------------  -------------------------  -------------------------
 *   create     (nothing)                    created                    409 name in use
 *   start      created, exited              running (failed: exited)   running, restarting: 304
 *   stop       running                      exited, when recorded      created, exited: 304
 *   kill       running                      running; SIGKILL: exited   409
 *   restart    created, running, exited,    running                    409
 *              restarting
 *   remove     created, exited, dead        (row deleted, files gone)  running: 409 unless force,
 *              running (force: SIGKILL,                                which kills and then
 *              the exit recorded, then as                              removes
 *              exited)
 *   wait       any                          (reads only)               404 when gone
 *   exec       running                      running                    409
 *   (exit)     running, paused              exited; restarting (its    (the shim's EXIT; recovery)
 *                                           restart policy); dead
 *                                           (recovery: no known end)
 *   (policy)   restarting, exited           running                    (the restart policy's own
 *                                                                      start, after its backoff or
 *                                                                      when Warden starts)
 *   (cancel)   restarting                   exited                     stop, kill, restart and
 *                                                                      remove --force of a
 *                                                                      restarting container
 *   pause      running                      paused (cgroup frozen)     paused: 409
 *   unpause    paused                       running (thawed)           409
 *   rename     any                          (same state, new name)     409 name in use
 *
 * stop, kill and a forced remove of a paused container thaw it first (→ running), then act.
 * `restarting` has no process: its restart policy starts it again after a backoff
 * (restart-policy.ts); stop and kill cancel that (→ exited) as Docker's do.
 *
 * `dead` is a container that Warden could not bring to a known end: at start, recovery found
 * its process gone with no exit recorded by its shim (a host reboot, a killed shim), or no
 * shim state at all (container/recovery.service.ts). It can only be removed.
 *
 * Serialisation: verbs on one container take its in-process lock (ContainerLocks) for their
 * whole transition, so two starts run one after the other (the second answers 304), and a
 * remove after a kill sees the kill's exit recorded. The guarded writes keep this true
 * across processes, where the lock does not reach.
 */
export type Verb =
  | 'start'
  | 'stop'
  | 'kill'
  | 'restart'
  | 'remove'
  | 'exec'
  | 'exit'
  | 'policy'
  | 'cancel'
  | 'pause'
  | 'unpause';

interface Transition {
  /** States the verb acts from. */
  from: readonly ContainerState[];
  /** States where what the verb would achieve already holds: 304, as Docker answers. */
  already?: readonly ContainerState[];
}

export const TRANSITIONS: Readonly<Record<Verb, Transition>> = {
  start: { from: ['created', 'exited'], already: ['running', 'restarting'] },
  stop: { from: ['running'], already: ['created', 'exited'] },
  kill: { from: ['running'] },
  restart: { from: ['created', 'running', 'exited', 'restarting'] },
  remove: { from: ['created', 'exited', 'dead'] },
  exec: { from: ['running'] },
  exit: { from: ['running', 'paused'] },
  policy: { from: ['restarting', 'exited'] },
  cancel: { from: ['restarting'] },
  pause: { from: ['running'] },
  unpause: { from: ['paused'] },
};

/** The states `verb` may write from: what its guarded UPDATE's `state = ANY($2)` gets. */
export function fromStates(verb: Verb): ContainerState[] {
  return [...TRANSITIONS[verb].from];
}

export function allows(verb: Verb, state: ContainerState): boolean {
  return TRANSITIONS[verb].from.includes(state);
}

/** `container web is exited: cannot stop (state exited)` — 409, with the state in the detail. */
export function stateConflict(
  c: Pick<ContainerRecord, 'id' | 'name' | 'state'>,
  verb: Verb,
  hint?: string,
): WardenError {
  return new WardenError(
    'CONTAINER_STATE_CONFLICT',
    `container ${c.name} is ${c.state}: cannot ${verb} (state ${c.state})${hint ? `: ${hint}` : ''}`,
    { id: c.id, state: c.state, verb, allowedFrom: fromStates(verb) },
  );
}

/**
 * Throws unless `verb` applies to `c` as it is: 304 where its goal already holds
 * (CONTAINER_NOT_MODIFIED), 409 otherwise.
 */
export function checkTransition(c: ContainerRecord, verb: Verb): void {
  const t = TRANSITIONS[verb];
  if (t.from.includes(c.state)) return;
  if (t.already?.includes(c.state))
    throw new WardenError('CONTAINER_NOT_MODIFIED', `container ${c.name} is already ${c.state}`, {
      id: c.id,
      state: c.state,
      verb,
    });
  throw stateConflict(c, verb);
}
