import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../platform/http';
import { HealthIndicators } from './health.indicators';

@ApiTags('system')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Database, Redis and the host runtime capability; 503 when any is down' })
  check() {
    return this.health.check([
      () => this.indicators.database(),
      () => this.indicators.redis(),
      () => this.indicators.runtimeCapability(),
    ]);
  }
}
