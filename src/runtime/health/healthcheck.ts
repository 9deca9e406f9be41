import type { HealthcheckConfig, HealthResult, HealthState } from '../container/container';

/**
 * Health checks as Docker runs them (moby daemon/health.go), the pure part: defaults, the
 * request merged over the image's HEALTHCHECK, the probe's command line, and what one
 * result does to the state. Durations are nanoseconds, as in the Engine API.
 */
const MS = 1_000_000;
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
/** Results kept in State.Health.Log. */
export const MAX_LOG_ENTRIES = 5;
/** Output kept per result; more ends in "...". */
export const MAX_OUTPUT_BYTES = 4096;

/** Zero means "the default", as in Docker. */
const ms = (ns: number | undefined, dflt: number) => (ns ? Math.round(ns / MS) : dflt);

export interface ProbeTiming {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

export function timingOf(h: HealthcheckConfig): ProbeTiming {
  return {
    intervalMs: ms(h.interval, DEFAULT_INTERVAL_MS),
    timeoutMs: ms(h.timeout, DEFAULT_TIMEOUT_MS),
    startPeriodMs: ms(h.startPeriod, 0),
    startIntervalMs: ms(h.startInterval, DEFAULT_START_INTERVAL_MS),
    retries: h.retries && h.retries > 0 ? h.retries : DEFAULT_RETRIES,
  };
}

/**
 * The container's health check: the request's fields over the image's, field by field (an
 * empty test takes the image's; Docker's create does the same); `["NONE"]` (`--no-healthcheck`)
 * or no test at all means none.
 */
export function mergeHealthcheck(
  request: HealthcheckConfig | undefined,
  image: HealthcheckConfig | undefined,
): HealthcheckConfig | undefined {
  if (!request && !image) return undefined;
  const merged: HealthcheckConfig = { ...image, ...dropZero(request ?? { test: [] }) };
  if (!request?.test.length) merged.test = image?.test ?? [];
  return probeArgv(merged.test) ? merged : undefined;
}

function dropZero(h: HealthcheckConfig): HealthcheckConfig {
  const out: HealthcheckConfig = { test: h.test };
  for (const k of ['interval', 'timeout', 'startPeriod', 'startInterval', 'retries'] as const)
    if (h[k]) out[k] = h[k];
  return out;
}

/** `CMD` runs its arguments, `CMD-SHELL` its command through /bin/sh -c; anything else: none. */
export function probeArgv(test: string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length) return rest;
  if (kind === 'CMD-SHELL' && rest.length) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

export const initialHealth = (): HealthState => ({ Status: 'starting', FailingStreak: 0, Log: [] });

/**
 * One probe's result applied (moby handleProbeResult): 0 is healthy and clears the streak;
 * anything else counts a failure, except while starting within the start period; `retries`
 * failures in a row make it unhealthy.
 */
export function applyResult(
  h: HealthState,
  r: HealthResult,
  t: ProbeTiming,
  startedAtMs: number,
): HealthState {
  const Log = [...h.Log, r].slice(-MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  const grace = h.Status === 'starting' && Date.parse(r.Start) - startedAtMs < t.startPeriodMs;
  if (grace) return { ...h, Log };
  const FailingStreak = h.FailingStreak + 1;
  return { Status: FailingStreak >= t.retries ? 'unhealthy' : h.Status, FailingStreak, Log };
}

/** The wait before the next probe: the start interval while starting within the start period. */
export function nextProbeIn(h: HealthState, t: ProbeTiming, startedAtMs: number, now = Date.now()): number {
  return now - startedAtMs < t.startPeriodMs && h.Status === 'starting' ? t.startIntervalMs : t.intervalMs;
}

/** Go's time.Duration text, as Docker writes it in "Health check exceeded timeout (1s)". */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  if (m < 60) return `${m}m${rest}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${rest}s`;
}
