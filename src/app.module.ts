import { DynamicModule, Module, Provider } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { AdmissionModule } from './admission';
import { AuditModule, AuditWorkerModule, ReportsModule, ReportsWorkerModule } from './audit';
import { AuthModule } from './auth';
import { ConsoleModule } from './console';
import { DockerApiModule } from './docker-api';
import { WARDEN_CONFIG, WardenConfig } from './platform/config';
import { DatabaseModule } from './platform/database';
import { INFRASTRUCTURE, Infrastructure } from './platform/infrastructure';
import { httpLogOptions } from './platform/logging';
import { MetricsModule } from './platform/metrics';
import { NetworkModule } from './network';
import { QueueModule } from './platform/queue';
import { PolicyModule } from './policy';
import { RegistryProxyModule } from './registry-proxy';
import { RuntimeModule } from './runtime';
import { SystemModule } from './system';
import { VolumesModule } from './volumes';

/**
 * `up` = API + workers (the workers in a child process unless WARDEN_UP_WORKERS=inline); `serve`
 * and `worker` split them for scale-out; `admission` = the Kubernetes admission webhooks alone
 * (no REST port, no runtime, no workers: a pod in the cluster, on the fleet's PostgreSQL and Redis).
 */
export type Role = 'up' | 'serve' | 'worker' | 'admission';

export const servesApi = (role: Role) => role === 'up' || role === 'serve';
export const runsWorkers = (role: Role) => role === 'up' || role === 'worker';

@Module({})
export class AppModule {
  static forRoot(opts: {
    role: Role;
    config: WardenConfig;
    infra: Infrastructure;
    logger: Pino;
  }): DynamicModule {
    const globals: Provider[] = [
      { provide: WARDEN_CONFIG, useValue: opts.config },
      { provide: INFRASTRUCTURE, useValue: opts.infra },
    ];
    return {
      module: AppModule,
      global: true,
      providers: globals,
      exports: globals,
      imports: [
        LoggerModule.forRoot({ pinoHttp: httpLogOptions(opts.logger) }),
        DatabaseModule,
        QueueModule,
        MetricsModule,
        AuditModule,
        ...(servesApi(opts.role)
          ? [
              AuthModule,
              SystemModule,
              PolicyModule,
              NetworkModule,
              RuntimeModule,
              VolumesModule,
              RegistryProxyModule,
              ReportsModule,
              ConsoleModule,
              // The Docker Engine API on WARDEN_DOCKER_SOCKET (listens at bootstrap, closes at shutdown).
              DockerApiModule,
              // Kubernetes admission webhooks on WARDEN_ADMISSION_PORT (listens only when set).
              AdmissionModule,
            ]
          : []),
        ...(opts.role === 'admission' ? [PolicyModule, AdmissionModule] : []),
        // Processors exist only where workers run: a `serve` process never consumes jobs.
        ...(runsWorkers(opts.role) ? [AuditWorkerModule, ReportsWorkerModule] : []),
      ],
    };
  }
}
