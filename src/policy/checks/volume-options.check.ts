import { formatBytes } from '../spec/units';
import { CheckResult, describeAllowed, violation, type VolumeCheck } from './check-result';

/**
 * Driver options only from the policy's list (`type=nfs`, `device=/host/path` or `o=bind`
 * reach the network or the host's disk), and the size within the policy's cap. `size` counts
 * as an option too, so a policy can refuse sized volumes altogether.
 */
export const volumeOptionsCheck: VolumeCheck = (vol, rules, ctx) => {
  const out: CheckResult[] = [];
  const allowed = rules.volumes?.allowedOptions;
  const used = [...Object.keys(vol.options), ...(vol.sizeBytes !== undefined ? ['size'] : [])];
  if (allowed)
    for (const key of used.filter((k) => !allowed.includes(k)))
      out.push(
        violation(
          ctx,
          'volumes.allowedOptions',
          `volume option ${key} is not allowed (allowed: ${describeAllowed(allowed)})`,
          { volume: vol.name, option: key, allowed: [...allowed] },
        ),
      );
  const size = rules.volumes?.size;
  if (size?.max !== undefined && vol.sizeBytes !== undefined && vol.sizeBytes > size.max)
    out.push(
      violation(
        ctx,
        'volumes.size.max',
        `volume size ${formatBytes(vol.sizeBytes)} exceeds the cap ${formatBytes(size.max)}`,
        { volume: vol.name, sizeBytes: vol.sizeBytes, max: size.max },
      ),
    );
  if (size?.required && vol.sizeBytes === undefined)
    out.push(
      violation(ctx, 'volumes.size.required', `volume ${vol.name} needs a size (--opt size=…)`, {
        volume: vol.name,
      }),
    );
  return out;
};
