import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, CurrentCaller, Roles, ZodPipe } from '../../platform/http';
import type { Caller } from '../../platform/http';
import { UpstreamAdminService } from './upstream-admin.service';
import { createUpstreamBody, updateUpstreamBody, upstreamAliasParam } from './upstream.schemas';

type AliasParam = z.infer<typeof upstreamAliasParam>;
const aliasParam = new ZodPipe(upstreamAliasParam, 'param');
const ApiAlias = () => ApiZodParam('alias', upstreamAliasParam.shape.alias, 'upstream alias');

/**
 * The /v2/ proxy's upstreams (docs/registry-proxy.md, "Upstreams through the API"). Admin
 * only; answers never carry credentials, only `hasCredentials` and their kind.
 */
@ApiTags('registry')
@ApiBearerAuth()
@Roles('admin')
@Controller('registry/upstreams')
export class UpstreamsController {
  constructor(private readonly admin: UpstreamAdminService) {}

  @Get()
  @ApiOperation({
    summary: 'List registry upstreams (admin): those of WARDEN_REGISTRY_UPSTREAMS and those added here',
  })
  list() {
    return this.admin.list();
  }

  @Post()
  @ApiOperation({
    summary: 'Add a registry upstream (admin); clients can pull <alias>/<repository> at once',
    description:
      '201 with the upstream (credentials are stored encrypted and never returned). 400 for a bad alias, URL, or plain http without insecure: true; 409 when the alias exists (also when WARDEN_REGISTRY_UPSTREAMS defines it). Policy still decides which registries may be pulled: see docs/registry-proxy.md.',
  })
  @ApiZodBody(createUpstreamBody)
  create(
    @CurrentCaller() by: Caller,
    @Body(new ZodPipe(createUpstreamBody)) body: z.infer<typeof createUpstreamBody>,
  ) {
    return this.admin.create(by, body);
  }

  @Get(':alias')
  @ApiAlias()
  @ApiOperation({ summary: 'One registry upstream (admin)' })
  get(@Param(aliasParam) p: AliasParam) {
    return this.admin.get(p.alias);
  }

  @Put(':alias')
  @ApiAlias()
  @ApiOperation({
    summary: 'Change a registry upstream added through the API (admin)',
    description:
      'Replaces URL and insecure marker; credentials: omitted keeps the stored ones, null removes them, an object replaces them. 409 for an upstream from WARDEN_REGISTRY_UPSTREAMS.',
  })
  @ApiZodBody(updateUpstreamBody)
  update(
    @CurrentCaller() by: Caller,
    @Param(aliasParam) p: AliasParam,
    @Body(new ZodPipe(updateUpstreamBody)) body: z.infer<typeof updateUpstreamBody>,
  ) {
    return this.admin.update(by, p.alias, body);
  }

  @Delete(':alias')
  @ApiAlias()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Remove a registry upstream added through the API (admin); its alias stops resolving at once',
    description:
      'Cached content stays in the store (image prune collects it). 409 for an upstream from WARDEN_REGISTRY_UPSTREAMS.',
  })
  remove(@CurrentCaller() by: Caller, @Param(aliasParam) p: AliasParam) {
    return this.admin.remove(by, p.alias);
  }
}
