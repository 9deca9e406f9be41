import { formatBytes } from '../spec/units';
import { Check, violation } from './check-result';

/**
 * What a container's log may hold on disk (issue 15): `--log-opt max-size` per file and
 * `max-file` files, so at most their product. `--log-driver none` keeps nothing and passes.
 */
export const logLimitsCheck: Check = (spec, rules, ctx) => {
  const logs = rules.logs;
  if (!logs || spec.logDriver === 'none') return [];
  const out = [];
  const size = logs.maxSize?.max;
  if (size !== undefined && spec.logMaxBytes !== undefined && spec.logMaxBytes > size)
    out.push(
      violation(
        ctx,
        'logs.maxSize.max',
        `log max-size ${formatBytes(spec.logMaxBytes)} exceeds the cap ${formatBytes(size)}`,
        { requested: spec.logMaxBytes, max: size },
      ),
    );
  const files = logs.maxFiles?.max;
  if (files !== undefined && spec.logMaxFiles !== undefined && spec.logMaxFiles > files)
    out.push(
      violation(ctx, 'logs.maxFiles.max', `log max-file ${spec.logMaxFiles} exceeds the cap ${files}`, {
        requested: spec.logMaxFiles,
        max: files,
      }),
    );
  return out;
};
