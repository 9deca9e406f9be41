import { formatImageReference, imageName } from '../../images';
import { Check, violation } from './check-result';

/**
 * A tag can be moved to other content after review; only a digest names the bytes. The
 * resolved digest does not count: the request itself must be pinned, so it is reproducible.
 */
export const digestPinningCheck: Check = (spec, rules, ctx) => {
  if (!rules.images?.requireDigest || spec.image.digest !== undefined) return [];
  const example = `${imageName(spec.image)}@${spec.image.resolvedDigest ?? 'sha256:<digest>'}`;
  return [
    violation(
      ctx,
      'images.requireDigest',
      `image ${formatImageReference(spec.image)} is not pinned by digest; use ${example}`,
      { image: formatImageReference(spec.image), resolvedDigest: spec.image.resolvedDigest ?? null },
    ),
  ];
};
