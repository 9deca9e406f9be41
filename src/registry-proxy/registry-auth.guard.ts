import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TokenAuthenticator } from '../auth';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { parseRegistryPath } from './registry-path';
import { formatChallenge } from './upstream/www-authenticate';

/** Service name in challenges and tokens, as the registry token flow requires one. */
export const REGISTRY_SERVICE = 'warden';

export type RegistryRequest = Request & { caller?: Caller; registrySecret?: string; registryScope?: string };

/**
 * The challenge that sends registry clients to Warden's token endpoint (distribution
 * token.md): no `error` on the first challenge, `invalid_token` when a credential was wrong.
 */
export function registryChallenge(req: RegistryRequest, invalid: boolean): string {
  const params: Record<string, string> = {
    realm: `${req.protocol}://${req.get('host') ?? 'localhost'}/v2/token`,
    service: REGISTRY_SERVICE,
  };
  if (req.registryScope) params.scope = req.registryScope;
  if (invalid) params.error = 'invalid_token';
  return formatChallenge('Bearer', params);
}

/**
 * /v2/ authentication. Registry clients send a Warden token either as a Basic password (any
 * user name: `skopeo login -u x -p <token>`) or as the Bearer token they obtained from
 * `/v2/token`. The REST AuthGuard skips these routes (@Public) because it knows only Bearer
 * and answers in the REST error shape.
 */
@Injectable()
export class RegistryAuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenAuthenticator) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<RegistryRequest>();
    req.registryScope = scopeOf(req.originalUrl);
    const secret = secretOf(req.headers.authorization);
    if (secret === undefined)
      throw new WardenError(
        'REGISTRY_UNAUTHORIZED',
        'authentication required: log in with any user name and a Warden token as the password',
      );
    const found = secret ? await this.tokens.authenticate(secret) : undefined;
    if (!found)
      throw new WardenError('REGISTRY_UNAUTHORIZED', 'token not recognised, revoked or expired', {
        invalidToken: true,
      });
    req.registrySecret = secret;
    req.caller = {
      principal: found.principal,
      source: {
        via: 'registry',
        tokenId: found.tokenId,
        ip: req.ip,
        requestId:
          (req as { id?: unknown }).id === undefined ? undefined : String((req as { id?: unknown }).id),
      },
    };
    return true;
  }
}

/** The token in `Basic base64(user:token)` or `Bearer token`; '' for a malformed header, undefined for none. */
function secretOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? '' : decoded.slice(colon + 1);
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return bearer ? bearer[1] : '';
}

/** `repository:<name>:pull` for a request on a repository, so the client asks for the right token. */
function scopeOf(url: string): string | undefined {
  try {
    const route = parseRegistryPath(url.split('?')[0]);
    return route && 'name' in route ? `repository:${route.name}:pull` : undefined;
  } catch {
    return undefined;
  }
}
