import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller, Principal } from '../platform/http';
import { PrincipalRepository } from './principal.repository';
import { newTokenSecret, hashToken } from './token-secret';
import { TokenRecord, TokenRepository } from './token.repository';

@Injectable()
export class TokenService {
  constructor(
    private readonly tokens: TokenRepository,
    private readonly principals: PrincipalRepository,
    private readonly audit: AuditService,
  ) {}

  async createPrincipal(by: Caller, p: Principal): Promise<Principal> {
    if (!(await this.principals.insert(p, 'user', by.principal.id))) {
      throw new WardenError('PRINCIPAL_EXISTS', `principal '${p.id}' already exists`, { id: p.id });
    }
    await this.audit.record({
      type: 'principal.created',
      principal: by.principal.id,
      source: by.source,
      subject: p.id,
      payload: { ...p },
    });
    return p;
  }

  /** Issues a token for an existing principal; the secret is returned here and never again. */
  async create(
    by: Caller,
    req: { principalId: string; name: string; expiresAt?: Date },
  ): Promise<TokenRecord & { token: string }> {
    if (!(await this.principals.find(req.principalId))) {
      throw new WardenError(
        'PRINCIPAL_NOT_FOUND',
        `no principal '${req.principalId}': create it first with POST /principals`,
        {
          principalId: req.principalId,
        },
      );
    }
    const token = newTokenSecret();
    const rec = await this.tokens.insert({
      id: randomUUID(),
      ...req,
      tokenHash: hashToken(token),
      createdBy: by.principal.id,
    });
    await this.audit.record({
      type: 'token.created',
      principal: by.principal.id,
      source: by.source,
      subject: rec.id,
      payload: { principalId: rec.principalId, name: rec.name, expiresAt: rec.expiresAt ?? null },
    });
    return { ...rec, token };
  }

  async revoke(by: Caller, id: string): Promise<TokenRecord> {
    const rec = await this.tokens.revoke(id, by.principal.id);
    if (!rec) throw new WardenError('TOKEN_NOT_FOUND', `no live token with id ${id}`, { id });
    await this.audit.record({
      type: 'token.revoked',
      principal: by.principal.id,
      source: by.source,
      subject: id,
      payload: { principalId: rec.principalId },
    });
    return rec;
  }

  list(): Promise<TokenRecord[]> {
    return this.tokens.list();
  }

  listPrincipals(): Promise<Principal[]> {
    return this.principals.list();
  }
}
