export { loadConfig, childEnvironment, ConfigError, parseUpstreamUrl, UPSTREAM_ALIAS_RE } from './config';
export { CONFIG_VARIABLES } from './config-variables';
export type {
  WardenConfig,
  RegistryConfig,
  RegistryUpstream,
  UpstreamCredentials,
  HttpTlsConfig,
  DockerTcpConfig,
  AdmissionConfig,
} from './config';
export { WARDEN_CONFIG } from './config.tokens';
