import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiZodBody, ApiZodParam, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import type { Caller } from '../platform/http';
import { intParam, text } from '../platform/http';
import { SocketPrincipalsService } from './socket-principals.service';

const uidParam = intParam(0, 4294967295);
const mappingBody = z.strictObject({ principalId: text(128).min(1) });

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
  @ApiZodParam('uid', uidParam, 'peer uid on the docker socket')
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
  @ApiZodParam('uid', uidParam, 'peer uid on the docker socket')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a uid mapping: that uid is refused on the docker socket (admin)' })
  async unmap(@CurrentCaller() by: Caller, @Param('uid', new ZodPipe(uidParam, 'param')) uid: number) {
    await this.service.unmap(by, uid);
  }
}
