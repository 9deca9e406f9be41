import { procStartTime } from '../../src/runtime/shim/shim-state';

/**
 * Whether a process still runs: its /proc entry exists and it is not a zombie. A process that
 * was killed stays in /proc until its parent reaps it, and an orphan's parent is whatever
 * subreaper the host runs (pid 1 here, a CI runner's own init elsewhere) and reaps when it
 * gets to it: a test that asks whether a process was ended must not wait on that. The same
 * reading Warden's recovery makes of a shim (`procStartTime`: nothing for a zombie).
 */
export function processAlive(pid: number): boolean {
  return procStartTime(pid) !== undefined;
}
