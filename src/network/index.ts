export { NetworkModule } from './network.module';
export { NetworkService, checkCreate } from './network.service';
export type { NetworkCreateInput } from './network.service';
export { NetworkAttacher, hostsFile } from './network-attacher';
export type { ContainerNetworkFiles } from './network-attacher';
export { Netavark, netavarkOptions } from './netavark';
export type { NetavarkOptions } from './netavark';
export { BUILTIN_NETWORKS } from './network';
export type { Endpoint, EndpointRequest, NetworkRecord, NetworkedContainer, PortBinding } from './network';
