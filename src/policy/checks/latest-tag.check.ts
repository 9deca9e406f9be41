import { formatImageReference } from '../../images';
import { Check, violation } from './check-result';

/**
 * `latest` (written, or implied by giving no tag) names whatever was pushed last. A digest
 * alone pins the image; an explicit `latest` is refused even beside a digest, since the
 * request then says two different things about which image is meant.
 */
export const latestTagCheck: Check = (spec, rules, ctx) => {
  if (!rules.images?.forbidLatest) return [];
  const { tag, digest } = spec.image;
  const image = formatImageReference(spec.image);
  if (tag === 'latest')
    return [
      violation(ctx, 'images.forbidLatest', `image ${image} uses tag latest; use a version tag or a digest`, {
        image,
        tag,
      }),
    ];
  if (tag === undefined && digest === undefined)
    return [
      violation(
        ctx,
        'images.forbidLatest',
        `image ${image} has no tag, which means latest; use a version tag or a digest`,
        { image, tag: null },
      ),
    ];
  return [];
};
