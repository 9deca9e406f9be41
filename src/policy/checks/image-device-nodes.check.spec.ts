import { imageDeviceNodesCheck } from './image-device-nodes.check';

const ctx = { policyName: 'p' };
const image = { image: 'debian:12', digest: `sha256:${'a'.repeat(64)}`, deviceNodes: ['usr/mem'] };

describe('imageDeviceNodesCheck', () => {
  it('passes an image with no device nodes outside /dev under any rules', () => {
    expect(imageDeviceNodesCheck({ ...image, deviceNodes: [] }, {}, ctx)).toEqual([]);
  });

  it('refuses device nodes when the rule is absent or false, naming the node and the rule', () => {
    for (const rules of [{}, { images: { allowDeviceNodes: false } }]) {
      const [r] = imageDeviceNodesCheck(image, rules, ctx);
      expect(r.rule).toBe('images.allowDeviceNodes');
      expect(r.message).toBe(
        'image debian:12 has device nodes or fifos outside /dev (usr/mem), which are not allowed (policy p, rule images.allowDeviceNodes)',
      );
      expect(r.detail).toEqual({ image: 'debian:12', digest: image.digest, deviceNodes: ['usr/mem'] });
    }
  });

  it('admits them when the policy allows device nodes', () => {
    expect(imageDeviceNodesCheck(image, { images: { allowDeviceNodes: true } }, ctx)).toEqual([]);
  });
});
