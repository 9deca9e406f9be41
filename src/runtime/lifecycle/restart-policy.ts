import type { RestartPolicy } from '../../policy';

/**
 * Whether an exit starts the container again, and after how long: Docker's restart manager
 * (moby daemon/internal/restartmanager), as a pure function of the exit and the previous
 * backoff. The delay starts at 100 ms and doubles with each restart up to a minute; a run of
 * 10 s or more starts it over. Pure: the fast tier drives it, RestartScheduler keeps the state.
 */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A run at least this long was a good one: the next backoff starts at FIRST_DELAY_MS again. */
export const RESET_AFTER_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  /** How long the process ran. */
  ranMs: number;
  /** Restarts by the policy so far (RestartCount). */
  restartCount: number;
  /** A client asked for this end (stop, kill, remove --force, restart), or Warden is stopping. */
  stoppedOnPurpose: boolean;
  /** The previous restart's delay (0: none yet). */
  previousDelayMs: number;
}

export interface RestartDecision {
  restart: boolean;
  /** The backoff this exit uses, also when it does not restart (Docker's keeps it too). */
  delayMs: number;
  /** Why, in words the audit trail keeps. */
  reason: string;
}

export function nextDelay(previousDelayMs: number, ranMs: number): number {
  if (ranMs >= RESET_AFTER_MS || previousDelayMs <= 0) return FIRST_DELAY_MS;
  return Math.min(previousDelayMs * 2, MAX_DELAY_MS);
}

export function decideRestart(policy: RestartPolicy | undefined, exit: ExitFacts): RestartDecision {
  const delayMs = nextDelay(exit.previousDelayMs, exit.ranMs);
  const no = (reason: string): RestartDecision => ({ restart: false, delayMs, reason });
  if (!policy || policy.name === 'no') return no('restart policy no');
  if (exit.stoppedOnPurpose) return no('stopped on purpose');
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return { restart: true, delayMs, reason: `restart policy ${policy.name}` };
    case 'on-failure': {
      if (exit.exitCode === 0) return no('exited with 0 (restart policy on-failure)');
      const max = policy.maximumRetryCount;
      if (max > 0 && exit.restartCount >= max)
        return no(`restart policy on-failure:${max}: ${exit.restartCount} restarts, no more`);
      return { restart: true, delayMs, reason: `exit code ${exit.exitCode} (restart policy on-failure)` };
    }
  }
}

/**
 * When Warden starts (Docker's daemon restore): a stopped container its policy keeps up comes
 * back. `always` also after a client's stop (Docker's does: the stop holds until the engine
 * starts again), `unless-stopped` unless a client stopped it, `on-failure` when its last exit
 * failed and retries remain.
 */
export function startsWithWarden(
  policy: RestartPolicy | undefined,
  c: { exitCode?: number; restartCount: number; manuallyStopped: boolean },
): boolean {
  switch (policy?.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !c.manuallyStopped;
    case 'on-failure':
      return (
        !c.manuallyStopped &&
        (c.exitCode ?? 0) !== 0 &&
        (policy.maximumRetryCount === 0 || c.restartCount < policy.maximumRetryCount)
      );
    default:
      return false;
  }
}
