import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { ApiZodBody, ApiZodQuery, Caller, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import { imageRefParam, text } from '../platform/http';
import { ImagePruneService } from './image-prune.service';
import { DEFAULT_IMPORT_MAX_BYTES, ImagesService } from './images.service';

const ARCHIVE_TYPES = [
  'application/x-tar',
  'application/tar',
  'application/octet-stream',
  'application/gzip',
  'application/x-gzip',
];

const importQuery = z.object({
  tag: text(300)
    .min(1)
    .optional()
    .describe("name[:tag] for the imported image, in addition to the archive's own names"),
  team: text(128)
    .min(1)
    .optional()
    .describe(
      "the team that may use it, one of the caller's; default its first team (an admin's without one: shared with every team)",
    ),
});

const pruneBody = z.strictObject({
  olderThanDays: z
    .number()
    .nonnegative()
    .max(36500)
    .optional()
    .describe('keep unreferenced blobs pulled or served within this many days (default 0: remove all)'),
});

const refParam = new ZodPipe(imageRefParam, 'param', 'IMAGE_REFERENCE_INVALID');
const REF_DOC = {
  name: 'ref',
  schema: z.toJSONSchema(imageRefParam, { io: 'input' }) as object,
  description:
    'name[:tag] (tag defaults to latest), name@sha256:…, sha256:<digest> or a 12+ digit id; URL-encode "/" as %2F',
};

@ApiTags('images')
@ApiBearerAuth()
@Controller('images')
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly pruner: ImagePruneService,
  ) {}

  /**
   * The body is the archive itself, streamed straight into the store's staging area (never
   * buffered): what `docker load` sends. An OCI layout directory is sent as its tar (the CLI
   * does that), which is exactly an oci-archive.
   */
  @Post('import')
  @HttpCode(201)
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Import an oci-archive or docker-save tar (optionally gzip-compressed)' })
  @ApiConsumes(...ARCHIVE_TYPES)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiZodQuery(importQuery)
  async import(
    @Req() req: Request,
    @Query(new ZodPipe(importQuery, 'query')) query: z.infer<typeof importQuery>,
    @CurrentCaller() caller: Caller,
  ) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!ARCHIVE_TYPES.includes(type)) {
      throw new WardenError(
        'UNSUPPORTED_MEDIA_TYPE',
        `send the archive as the body with Content-Type application/x-tar (got '${type || 'none'}')`,
        { accepted: ARCHIVE_TYPES },
      );
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > DEFAULT_IMPORT_MAX_BYTES) {
      throw new WardenError(
        'IMAGE_ARCHIVE_TOO_LARGE',
        `archive of ${declared} bytes exceeds the import limit of ${DEFAULT_IMPORT_MAX_BYTES} bytes`,
        { maxBytes: DEFAULT_IMPORT_MAX_BYTES },
      );
    }
    return this.images.importArchive(req, caller, { tag: query.tag, team: query.team });
  }

  @Post('prune')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Remove blobs no image references (and unpacked layers no image or container uses)',
  })
  @ApiZodBody(pruneBody)
  prune(@Body(new ZodPipe(pruneBody)) body: z.infer<typeof pruneBody>, @CurrentCaller() caller: Caller) {
    return this.pruner.prune(caller, { olderThanDays: body.olderThanDays });
  }

  @Get()
  @ApiOperation({ summary: 'Images in the local store, newest first' })
  async list(@CurrentCaller() caller: Caller) {
    return { images: await this.images.list(caller) };
  }

  @Get(':ref')
  @ApiOperation({ summary: 'One image: names, layers, runtime config' })
  @ApiParam(REF_DOC)
  inspect(@CurrentCaller() caller: Caller, @Param('ref', refParam) ref: string) {
    return this.images.inspect(ref, caller);
  }

  @Delete(':ref')
  @Roles('admin', 'deployer')
  @ApiOperation({
    summary: "Untag (by name) or delete (by digest, or a name's last tag); 409 while containers use it",
  })
  @ApiParam(REF_DOC)
  remove(@Param('ref', refParam) ref: string, @CurrentCaller() caller: Caller) {
    return this.images.remove(ref, caller);
  }
}
