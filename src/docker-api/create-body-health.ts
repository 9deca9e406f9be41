import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { text } from '../platform/http';
import type { HealthcheckConfig } from '../runtime';

/** moby's HealthConfig (`--health-*`, `--no-healthcheck`): durations in nanoseconds. */
export interface DockerHealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

// Docker's floor for each duration (daemon validateHealthCheck): 0 (the default) or at least 1 ms.
const healthDuration = (field: string) =>
  z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 1_000_000 && n <= 86_400e9), {
      error: `${field} in Healthcheck cannot be less than 1ms (or more than 24h)`,
    })
    .optional();

export const dockerHealthConfigSchema = z
  .looseObject({
    Test: z.array(text(131_072)).max(4096).nullable().optional(),
    Interval: healthDuration('Interval'),
    Timeout: healthDuration('Timeout'),
    StartPeriod: healthDuration('StartPeriod'),
    StartInterval: healthDuration('StartInterval'),
    Retries: z.number().int().min(0, 'Retries in Healthcheck cannot be negative').max(1_000_000).optional(),
  })
  .nullable()
  .optional();

/** Docker's HealthConfig → the runtime's; an unknown test type is refused, as the daemon does. */
export function healthcheckOf(h: DockerHealthConfig): HealthcheckConfig {
  const test = h.Test ?? [];
  if (test.length && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]))
    throw new WardenError(
      'VALIDATION_FAILED',
      `Healthcheck.Test ${JSON.stringify(test[0])} is not a health check type: use NONE, CMD or CMD-SHELL`,
    );
  if ((test[0] === 'CMD' || test[0] === 'CMD-SHELL') && test.length < 2)
    throw new WardenError('VALIDATION_FAILED', `Healthcheck.Test ${test[0]} needs a command`);
  const out: HealthcheckConfig = { test };
  if (h.Interval) out.interval = h.Interval;
  if (h.Timeout) out.timeout = h.Timeout;
  if (h.StartPeriod) out.startPeriod = h.StartPeriod;
  if (h.StartInterval) out.startInterval = h.StartInterval;
  if (h.Retries) out.retries = h.Retries;
  return out;
}
