import { Inject, Injectable } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import type { Principal } from '../platform/http';
import { BOOTSTRAP_ADMIN } from './principal';
import { hashToken, sameSecret } from './token-secret';
import { TokenRepository } from './token.repository';

/**
 * Token secret → principal, for surfaces that carry a Warden token some other way than
 * `Authorization: Bearer` (the /v2/ registry API takes it as a Basic password too).
 */
@Injectable()
export class TokenAuthenticator {
  constructor(
    private readonly tokens: TokenRepository,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async authenticate(secret: string): Promise<{ principal: Principal; tokenId: string } | undefined> {
    if (this.config.adminToken && sameSecret(secret, this.config.adminToken))
      return { principal: BOOTSTRAP_ADMIN, tokenId: 'bootstrap' };
    return this.tokens.findLive(hashToken(secret));
  }
}
