import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ForwardTickets } from '../fleet';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import { Caller, IS_PUBLIC, Role, ROLES_KEY } from '../platform/http';
import { BOOTSTRAP_ADMIN } from './principal';

import { hashToken, sameSecret } from './token-secret';
import { TokenRepository } from './token.repository';

/**
 * Every HTTP route needs a bearer token unless marked @Public(): no token → 401, a token
 * whose principal lacks the route's role → 403. The caller (principal + source) is put on
 * the request for handlers and the audit trail.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenRepository,
    private readonly tickets: ForwardTickets,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { caller?: Caller; id?: string }>();
    const caller = await this.authenticate(req);
    req.caller = caller;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(caller.principal.role)) {
      throw new WardenError(
        'FORBIDDEN',
        `${req.method} ${req.path} needs role ${roles.join(' or ')}; principal '${caller.principal.id}' has role ${caller.principal.role}`,
        { required: roles, role: caller.principal.role },
      );
    }
    return true;
  }

  private async authenticate(req: Request & { id?: string }): Promise<Caller> {
    // Forwarded by another node of the fleet (fleet/node-forwarder.ts): the caller it
    // authenticated, once.
    const forwarded = await this.tickets.callerOf(req.headers);
    if (forwarded) return { ...forwarded, source: { ...forwarded.source, requestId: req.id } };
    const header = req.headers.authorization;
    if (!header) throw new WardenError('UNAUTHENTICATED', 'no token: send Authorization: Bearer <token>');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m)
      throw new WardenError('UNAUTHENTICATED', 'malformed Authorization header: expected Bearer <token>');
    const secret = m[1];
    const source = { via: 'http' as const, ip: req.ip, requestId: req.id };
    if (this.config.adminToken && sameSecret(secret, this.config.adminToken)) {
      return { principal: BOOTSTRAP_ADMIN, source: { ...source, tokenId: 'bootstrap' } };
    }
    const found = await this.tokens.findLive(hashToken(secret));
    if (!found) throw new WardenError('UNAUTHENTICATED', 'token not recognised, revoked or expired');
    return { principal: found.principal, source: { ...source, tokenId: found.tokenId } };
  }
}
