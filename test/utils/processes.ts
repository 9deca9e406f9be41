import * as fs from 'node:fs';

/**
 * Whether a process still runs: its /proc entry exists and it is not a zombie. A process that
 * was killed stays in /proc until its parent reaps it, and an orphan's parent is whatever
 * subreaper the host runs (pid 1 here, a CI runner's own init elsewhere) and reaps when it
 * gets to it: a test that asks whether a process was ended must not wait on that.
 */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
