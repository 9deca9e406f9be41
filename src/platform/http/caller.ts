import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

/**
 * Who is asking, as every module sees it. The auth module authenticates and sets it; other
 * modules only read it, so they depend on platform, not on auth.
 */
export const ROLES = ['admin', 'deployer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  id: string;
  role: Role;
  teams: string[];
}

/** How the actor reached Warden (recorded with every audit event). */
export interface CallerSource {
  via: 'http' | 'docker' | 'registry' | 'cli' | 'system' | 'admission';
  tokenId?: string;
  peerUid?: number;
  /** Docker API over TCP: the client certificate's subject (mutual TLS). */
  peerCertificate?: string;
  ip?: string;
  requestId?: string;
}

export interface Caller {
  principal: Principal;
  source: CallerSource;
}

export const ROLES_KEY = 'warden:roles';
/** Roles allowed on a route; a route without it admits any authenticated principal. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** The authenticated caller, as set by the auth guard. */
export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  return (ctx.switchToHttp().getRequest() as { caller: Caller }).caller;
});
