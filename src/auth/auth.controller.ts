import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, CurrentCaller, ROLES, Roles, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { text } from '../platform/http';
import { TokenService } from './token.service';

const principalBody = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,127}$/, 'lowercase letters, digits, . _ @ -; at most 128'),
  role: z.enum(ROLES),
  teams: z.array(text(128).min(1)).max(64).default([]),
});

const tokenBody = z.strictObject({
  principalId: text(128).min(1),
  name: text(128).min(1),
  expiresAt: z.iso
    .datetime({ offset: true })
    .transform((s) => new Date(s))
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .optional(),
});

@ApiTags('auth')
@ApiBearerAuth()
@Roles('admin')
@Controller()
export class AuthController {
  constructor(private readonly tokens: TokenService) {}

  @Post('principals')
  @ApiOperation({ summary: 'Create a principal (admin)' })
  @ApiZodBody(principalBody)
  createPrincipal(
    @CurrentCaller() by: Caller,
    @Body(new ZodPipe(principalBody)) body: z.infer<typeof principalBody>,
  ) {
    return this.tokens.createPrincipal(by, body);
  }

  @Get('principals')
  @ApiOperation({ summary: 'List principals (admin)' })
  listPrincipals() {
    return this.tokens.listPrincipals();
  }

  @Post('tokens')
  @ApiOperation({ summary: 'Issue an API token for a principal (admin); the secret is shown once' })
  @ApiZodBody(tokenBody)
  create(@CurrentCaller() by: Caller, @Body(new ZodPipe(tokenBody)) body: z.infer<typeof tokenBody>) {
    return this.tokens.create(by, body);
  }

  @Get('tokens')
  @ApiOperation({ summary: 'List tokens, without secrets (admin)' })
  list() {
    return this.tokens.list();
  }

  @Delete('tokens/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a token (admin)' })
  @ApiZodParam('id', z.uuid(), 'token id')
  revoke(@CurrentCaller() by: Caller, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.tokens.revoke(by, id);
  }
}
