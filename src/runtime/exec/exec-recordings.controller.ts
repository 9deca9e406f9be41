import { Controller, Get, Inject, Param, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { z } from 'zod';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import { ApiZodParam, Roles, ZodPipe } from '../../platform/http';
import { EXEC_ID_RE, recordingPath } from './session-recorder';

const execIdSchema = z.string().regex(EXEC_ID_RE, 'must be an exec id (64 hex digits)');

/**
 * Recorded exec sessions (issue 15), for review: the transcript as stored, whose sha256 is in
 * the exec's `exec.ended` audit event. Admins and auditors only: a transcript holds whatever
 * the session printed or typed.
 */
@ApiTags('exec')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('exec-recordings')
export class ExecRecordingsController {
  constructor(@Inject(WARDEN_CONFIG) private readonly config: WardenConfig) {}

  @Get(':execId')
  @ApiZodParam('execId', execIdSchema)
  @ApiOperation({
    summary: 'An exec session\'s transcript (asciicast v2: a header line, then [seconds, "o"|"i"|"m", text])',
    description:
      'The stored bytes, whose sha256 is the `recording.sha256` of the exec.ended audit event (also sent as the X-Content-SHA256 header). A session still running answers what it has so far; 404 when the exec was not recorded.',
  })
  transcript(
    @Param('execId', new ZodPipe(execIdSchema, 'param')) id: string,
    @Res({ passthrough: true }) res: Response,
  ): StreamableFile {
    let data: Buffer;
    try {
      data = fs.readFileSync(recordingPath(this.config.dataDir, id));
    } catch {
      throw new WardenError(
        'EXEC_RECORDING_NOT_FOUND',
        `no recording of exec ${id}: its policy did not require one, or it was pruned after the retention (WARDEN_EXEC_TRANSCRIPT_RETENTION; the exec.recordings.pruned event lists it)`,
        {
          execId: id,
        },
      );
    }
    res.setHeader('X-Content-SHA256', createHash('sha256').update(data).digest('hex'));
    return new StreamableFile(data, { type: 'application/x-asciicast', length: data.length });
  }
}
