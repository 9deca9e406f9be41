export { loadConfig, childEnvironment, ConfigError, parseUpstreamUrl, UPSTREAM_ALIAS_RE } from './config';
export { defaultNodeName, NODE_NAME_FILE, rememberNodeName } from './node-name';
export { CONFIG_VARIABLES } from './config-variables';
export type {
  FleetConfig,
  WardenConfig,
  RegistryConfig,
  RegistryUpstream,
  UpstreamCredentials,
  HttpTlsConfig,
  DockerTcpConfig,
  AdmissionConfig,
} from './config';
export { WARDEN_CONFIG } from './config.tokens';
