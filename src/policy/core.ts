/**
 * The pure policy API: no I/O, no Nest. PolicyService (persistence, bindings, audit) is built
 * on this, and replay uses it directly.
 */
export * from './spec/container-spec';
export * from './spec/units';
export * from './spec/seccomp-profile';
export * from './spec/ulimits';
export * from './spec/sysctls';
export * from './spec/ports';
export * from './document/policy-document';
export * from './document/baseline';
export * from './checks';
export * from './evaluate';
export * from './evaluate-volume';
export * from './spec/volume-spec';
export * from './evaluate-image';
export * from './spec/image-content';
export * from './spec/push-spec';
export type { ImageReference, ParseImageReferenceOptions } from '../images';
export { formatImageReference, imageName, parseImageReference } from '../images';
export * from './spec/block-io';
export * from './spec/log-config';
export * from './spec/exec-spec';
export * from './evaluate-exec';
export * from './evaluate-attach';
export * from './spec/attach-spec';
export { attachCheck, type AttachCheck } from './checks/attach.check';
export * from './spec/restart-policy';
export { EGRESS_LABEL, formatEgress, egressCovers, parseEgressEntry, type EgressRule } from './spec/egress';
export * from './evaluate-connect';
