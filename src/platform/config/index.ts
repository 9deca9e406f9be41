export {
  loadConfig,
  childEnvironment,
  ConfigError,
  CONFIG_VARIABLES,
  parseUpstreamUrl,
  UPSTREAM_ALIAS_RE,
} from './config';
export type {
  WardenConfig,
  RegistryConfig,
  RegistryUpstream,
  UpstreamCredentials,
  HttpTlsConfig,
  DockerTcpConfig,
} from './config';
export { WARDEN_CONFIG } from './config.tokens';
