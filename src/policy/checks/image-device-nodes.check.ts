import { violation, type ImageContentCheck } from './check-result';

/**
 * A device node in an image is a door to the host's devices once the container can open it
 * (a char 1/1 is /dev/mem). Those under `/dev` never reach a container (its own `/dev` covers
 * them) and are left out at unpack; anywhere else they need `images.allowDeviceNodes`.
 */
export const imageDeviceNodesCheck: ImageContentCheck = (image, rules, ctx) => {
  if (image.deviceNodes.length === 0 || rules.images?.allowDeviceNodes === true) return [];
  return [
    violation(
      ctx,
      'images.allowDeviceNodes',
      `image ${image.image} has device nodes or fifos outside /dev (${image.deviceNodes.join(', ')}), which are not allowed`,
      { image: image.image, digest: image.digest, deviceNodes: [...image.deviceNodes] },
    ),
  ];
};
