import { Body, Controller, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { ApiZodBody, ApiZodQuery, Caller, CurrentCaller, Roles, ZodPipe } from '../platform/http';
import { text } from '../platform/http';
import { ImagePullService, PullProgress } from './image-pull.service';

const pullBody = z.strictObject({
  reference: text(512)
    .min(1)
    .describe(
      '127.0.0.1:5000/app:1, <upstream alias>/<repo>[:tag|@digest], or a Docker Hub name like busybox',
    ),
  team: text(128)
    .min(1)
    .optional()
    .describe(
      "the team that may use it, one of the caller's; default its first team (an admin's without one: shared with every team)",
    ),
});

const pullQuery = z.object({
  stream: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('true: answer NDJSON progress messages as the Docker Engine does, then the result'),
});

/** `POST /images/pull`: the images API's pull, served by the proxy that does the pulling. */
@ApiTags('images')
@ApiBearerAuth()
@Controller('images')
export class ImagePullController {
  constructor(private readonly pulls: ImagePullService) {}

  /**
   * Pulls through the registry proxy into the local images. With `stream=true` the answer is
   * NDJSON progress (status, id, progressDetail) ending with `{"result": …}`, or with
   * `{"error": …}` when the pull fails after it started; a refusal before the first message
   * (policy, unknown upstream) is an ordinary error status either way.
   */
  @Post('pull')
  @Roles('admin', 'deployer')
  @ApiOperation({ summary: 'Pull an image from a configured upstream (policy-checked, audited)' })
  @ApiZodBody(pullBody)
  @ApiZodQuery(pullQuery)
  async pull(
    @Body(new ZodPipe(pullBody)) body: z.infer<typeof pullBody>,
    @Query(new ZodPipe(pullQuery, 'query')) query: z.infer<typeof pullQuery>,
    @CurrentCaller() caller: Caller,
    @Res() res: Response,
  ): Promise<void> {
    if (query.stream !== 'true' && query.stream !== '1') {
      res.status(200).json(await this.pulls.pull(caller, body.reference, undefined, body.team));
      return;
    }
    const line = (o: unknown) => {
      if (!res.headersSent) res.status(200).type('application/x-ndjson');
      if (!res.writableEnded) res.write(`${JSON.stringify(o)}\n`);
    };
    try {
      const result = await this.pulls.pull(caller, body.reference, (p: PullProgress) => line(p), body.team);
      line({ result });
    } catch (err) {
      if (!res.headersSent) throw err;
      const message = (err as Error).message;
      const code = err instanceof WardenError ? err.code : 'INTERNAL';
      line({ error: message, errorDetail: { message, code } });
    }
    res.end();
  }
}
