import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../platform/http';
import { HealthIndicators } from './health.indicators';

@ApiTags('system')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
  ) {}

  /**
   * 503 keeps terminus's body (`error` names each part that is down, with why and, for an
   * embedded server, its supervisor's state) plus a one-line `message`; the generic error
   * filter would reduce it to "Service Unavailable". Each probe answers within a second.
   */
  @Public()
  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Database, Redis and the host runtime capability; 503 naming what is down, within a second',
  })
  async check(@Res({ passthrough: true }) res: Response) {
    try {
      return await this.health.check([
        () => this.indicators.database(),
        () => this.indicators.redis(),
        () => this.indicators.runtimeCapability(),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const body = err.getResponse() as HealthCheckResult;
      res.status(503);
      const down = Object.entries(body.error ?? {}).map(
        ([name, v]) => `${name}${typeof v?.message === 'string' ? ` (${v?.message as string})` : ''}`,
      );
      return { ...body, message: `down: ${down.join('; ')}` };
    }
  }
}
