import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { WardenError } from '../../platform/errors';
import {
  ApiZodParam,
  ApiZodQuery,
  boolParam,
  CurrentCaller,
  Roles,
  ZodPipe,
  containerRef,
  intParam,
} from '../../platform/http';
import type { Caller } from '../../platform/http';
import { ContainerStdio } from './container-stdio';
import { ContainerRefs } from '../lifecycle/container-refs';
import { scopeOf } from '../../platform/scope';

const idParam = new ZodPipe(containerRef, 'param');
const ApiId = () => ApiZodParam('id', containerRef, 'container id, unique id prefix or name');
const resizeQuery = z.object({
  h: intParam(0, 65535).describe('rows'),
  w: intParam(0, 65535).describe('columns'),
});
const attachQuery = z.object({
  stdin: boolParam.optional().describe("send the client's messages to stdin"),
  stdout: boolParam.optional().describe('default on'),
  stderr: boolParam.optional().describe('default on'),
  logs: boolParam.optional().describe('what it wrote so far first'),
  detachKeys: z.string().max(64).optional().describe('default ctrl-p,ctrl-q'),
});

/**
 * A container's terminal and interactive attach on REST. The attach itself is a WebSocket
 * (AttachWebSocketServer takes the upgrade before Express sees it); this route documents it
 * and answers a plain GET with what to do.
 */
@ApiTags('containers')
@ApiBearerAuth()
@Controller('containers')
export class ContainerTerminalController {
  constructor(
    private readonly stdio: ContainerStdio,
    private readonly refs: ContainerRefs,
  ) {}

  @Get(':id/attach/ws')
  @ApiId()
  @Roles('admin', 'deployer')
  @ApiZodQuery(attachQuery)
  @ApiOperation({
    summary:
      'Attach over a WebSocket (Upgrade: websocket, bearer token): output as raw binary messages, each message sent is stdin; the detach keys end the session, the container goes on',
  })
  async attachWs(@CurrentCaller() caller: Caller, @Param('id', idParam) id: string) {
    await this.refs.resolve(id, scopeOf(caller.principal)); // another team's: 404, as every route
    throw new WardenError(
      'BAD_REQUEST',
      'attach is a WebSocket: send Connection: Upgrade, Upgrade: websocket (e.g. websocat -H "Authorization: Bearer …")',
    );
  }

  @Post(':id/resize')
  @ApiId()
  @HttpCode(204)
  @Roles('admin', 'deployer')
  @ApiZodQuery(resizeQuery)
  @ApiOperation({
    summary: "Set a running container's terminal size (a container without -t: nothing to do)",
  })
  async resize(
    @CurrentCaller() caller: Caller,
    @Param('id', idParam) id: string,
    @Query(new ZodPipe(resizeQuery, 'query')) q: z.infer<typeof resizeQuery>,
  ) {
    await this.stdio.resize(caller, id, q.h, q.w);
  }
}
