import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit';
import { FleetModule } from '../fleet';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { PrincipalRepository } from './principal.repository';
import { SocketPrincipalRepository } from './socket-principal.repository';
import { SocketPrincipalsController } from './socket-principals.controller';
import { SocketPrincipalsService } from './socket-principals.service';
import { TokenRepository } from './token.repository';
import { TokenAuthenticator } from './token-authenticator';
import { TokenService } from './token.service';

@Module({
  imports: [AuditModule, FleetModule],
  providers: [
    TokenRepository,
    PrincipalRepository,
    TokenService,
    TokenAuthenticator,
    SocketPrincipalRepository,
    SocketPrincipalsService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  controllers: [AuthController, SocketPrincipalsController],
  exports: [TokenService, PrincipalRepository, TokenAuthenticator, SocketPrincipalsService],
})
export class AuthModule {}
