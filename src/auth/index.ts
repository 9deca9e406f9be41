export { AuthModule } from './auth.module';
export { BOOTSTRAP_ADMIN } from './principal';
export { TokenAuthenticator } from './token-authenticator';
