import { z } from 'zod';
import { text } from '../../platform/http';

/**
 * The networks a container joins at create beyond its `network` (issue 16): Docker's create
 * names them in `NetworkingConfig.EndpointsConfig` (`docker run --network a --network b`),
 * REST in `endpoints` or here. They are part of the launch request so the policy judges each
 * (`network.allowedNetworks`, as a `network connect` is judged) and a replay judges them again.
 */
export const networksRequestFields = {
  networks: z
    .array(text(128))
    .max(64)
    .optional()
    .describe(
      'further networks to join beside `network`, by name (also the keys of `endpoints`); each judged by policy',
    ),
};

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A mode that leaves a container no other network (Docker refuses such a mix at create). */
const alone = (mode: string) => mode === 'none' || mode === 'host' || mode.startsWith('container:');

export function convertNetworks(
  req: { networks?: string[] },
  spec: { networkMode: string; networks?: string[] },
  errors: string[],
): void {
  const mode = spec.networkMode === 'default' ? 'bridge' : spec.networkMode;
  const further = [...new Set(req.networks ?? [])].filter((n) => n !== mode);
  if (!further.length) return;
  for (const n of further)
    if (!NAME_RE.test(n)) errors.push(`networks: ${JSON.stringify(n)} is not a network name`);
    else if (alone(n)) errors.push(`networks: network ${n} cannot be combined with other networks`);
  if (alone(mode))
    errors.push(
      `networks: a container on network ${mode} has no other (asked: ${further.join(', ')}): create it on a bridge network`,
    );
  spec.networks = further;
}
