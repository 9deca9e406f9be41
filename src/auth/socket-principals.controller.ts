import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { SocketPrincipalsService } from './socket-principals.service';

const uidParam = z.coerce.number().int().min(0).max(4294967295);
const mappingBody = z.strictObject({ principalId: z.string().min(1) });

@ApiTags('auth')
@ApiBearerAuth()
@Roles('admin')
@Controller('socket-principals')
export class SocketPrincipalsController {
  constructor(private readonly service: SocketPrincipalsService) {}

  @Get()
  @ApiOperation({ summary: 'Docker-socket uid → principal mappings (admin)' })
  list() {
    return this.service.list();
  }

  @Put(':uid')
  @ApiOperation({ summary: 'Map a docker-socket peer uid to a principal (admin)' })
  @ApiZodBody(mappingBody)
  map(
    @CurrentCaller() by: Caller,
    @Param('uid', new ZodPipe(uidParam, 'param')) uid: number,
    @Body(new ZodPipe(mappingBody)) body: z.infer<typeof mappingBody>,
  ) {
    return this.service.map(by, uid, body.principalId);
  }

  @Delete(':uid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a uid mapping: that uid is refused on the docker socket (admin)' })
  async unmap(@CurrentCaller() by: Caller, @Param('uid', new ZodPipe(uidParam, 'param')) uid: number) {
    await this.service.unmap(by, uid);
  }
}
