export { loadConfig, ConfigError, CONFIG_VARIABLES } from './config';
export type { WardenConfig, RegistryConfig, RegistryUpstream } from './config';
export { WARDEN_CONFIG } from './config.tokens';
