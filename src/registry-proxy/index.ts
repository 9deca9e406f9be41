// The registry proxy as the rest of Warden sees it: the /v2/ module, and image pulls into the
// local store for the runtime and the images APIs.
export { RegistryProxyModule } from './registry-proxy.module';
export { PullService } from './pull.service';
export type { PullRecord } from './pull.service';
export { Upstreams } from './upstreams';
export type { UpstreamTarget } from './upstreams';
export { selectPlatform, MANIFEST_ACCEPT } from './upstream/media-types';
export type { Platform } from './upstream/media-types';
export { ImagePullService } from './image-pull.service';
export type { PullProgress, PullResult } from './image-pull.service';
export { ImagePushService } from './image-push.service';
export type { PushResult } from './image-push.service';
