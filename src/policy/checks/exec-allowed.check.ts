import { imageName } from '../../images';
import { ExecCheck, violation } from './check-result';
import { imageFromSources } from './image-source.check';

/**
 * Whether the caller may exec at all (`exec.allow`, per bound policy: so per principal, team
 * or everyone), and into containers of which images (`exec.allowedImages`, the same entries
 * as `images.allowedRegistries`).
 */
export const execAllowedCheck: ExecCheck = (spec, rules, ctx) => {
  const exec = rules.exec;
  if (!exec) return [];
  if (exec.allow === false)
    return [
      violation(ctx, 'exec.allow', 'exec into containers is not allowed', {
        container: spec.container.name,
      }),
    ];
  const allowed = exec.allowedImages;
  if (!allowed || imageFromSources(spec.container.image, allowed)) return [];
  return [
    violation(
      ctx,
      'exec.allowedImages',
      `exec into containers of image ${imageName(spec.container.image)} is not allowed (allowed: ${
        allowed.map((a) => (a === '' ? 'local images' : a)).join(', ') || 'none'
      })`,
      { image: imageName(spec.container.image), allowed: [...allowed] },
    ),
  ];
};
