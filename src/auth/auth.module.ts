import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { PrincipalRepository } from './principal.repository';
import { TokenRepository } from './token.repository';
import { TokenAuthenticator } from './token-authenticator';
import { TokenService } from './token.service';

@Module({
  imports: [AuditModule],
  providers: [
    TokenRepository,
    PrincipalRepository,
    TokenService,
    TokenAuthenticator,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  controllers: [AuthController],
  exports: [TokenService, PrincipalRepository, TokenAuthenticator],
})
export class AuthModule {}
