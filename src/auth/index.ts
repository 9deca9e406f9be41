export { AuthModule } from './auth.module';
export { BOOTSTRAP_ADMIN } from './principal';
export { TokenAuthenticator } from './token-authenticator';
export { SocketPrincipalsService, DOCKER_ROOT } from './socket-principals.service';
export type { SocketPrincipalMapping } from './socket-principal.repository';
