import { z } from 'zod';

/**
 * A container's restart policy, with Docker's names and meaning (`docker run --restart`,
 * HostConfig.RestartPolicy): `no`; `on-failure[:N]` (a non-zero exit, at most N times, 0 = no
 * limit); `always`; `unless-stopped` (as always, but a container a client stopped stays down,
 * also when Warden starts again).
 */
export const RESTART_POLICY_NAMES = ['no', 'on-failure', 'always', 'unless-stopped'] as const;
export type RestartPolicyName = (typeof RESTART_POLICY_NAMES)[number];

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: how many restarts at most; 0 = no limit. */
  maximumRetryCount: number;
}

/** The largest retry count accepted (Docker takes any int; a bigger number is a typo). */
export const MAX_RESTART_RETRIES = 1_000_000;

export const restartInputSchema = z
  .union(
    [
      z.string().max(64),
      z.strictObject({
        name: z.string().max(64),
        maximumRetryCount: z.number().int().min(0).max(MAX_RESTART_RETRIES).optional(),
      }),
    ],
    { error: 'must be "no", "on-failure[:N]", "always", "unless-stopped" or {name, maximumRetryCount}' },
  )
  .describe('restart policy: no, on-failure[:N], always or unless-stopped (docker run --restart)');

export type RestartInput = z.infer<typeof restartInputSchema>;

/**
 * `on-failure:3`, `always`, or `{name, maximumRetryCount}` → a policy, or what is wrong with it
 * in Docker's words.
 */
export function parseRestartPolicy(input: RestartInput): RestartPolicy | string {
  let name: string;
  let count: number | undefined;
  if (typeof input === 'string') {
    const [n, c, ...rest] = input.split(':');
    name = n;
    if (rest.length) return `${JSON.stringify(input)} is not a restart policy: use name[:max-retries]`;
    if (c !== undefined) {
      if (!/^\d+$/.test(c) || Number(c) > MAX_RESTART_RETRIES)
        return `maximum retry count ${JSON.stringify(c)} must be a number from 0 to ${MAX_RESTART_RETRIES}`;
      count = Number(c);
    }
  } else {
    name = input.name;
    count = input.maximumRetryCount;
  }
  if (name === '') name = 'no';
  if (!(RESTART_POLICY_NAMES as readonly string[]).includes(name))
    return `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`;
  if (count && name !== 'on-failure')
    return `invalid restart policy: maximum retry count can only be used with 'on-failure'`;
  return { name: name as RestartPolicyName, maximumRetryCount: count ?? 0 };
}

/** As the docker CLI writes it: `on-failure:3`, `always`. */
export function formatRestartPolicy(p: RestartPolicy | undefined): string {
  if (!p) return 'no';
  return p.name === 'on-failure' && p.maximumRetryCount ? `on-failure:${p.maximumRetryCount}` : p.name;
}
