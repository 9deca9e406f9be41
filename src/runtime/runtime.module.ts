import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { PolicyModule } from '../policy';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { createCgroupDriver } from './cgroups';
import { ContainerInspector } from './container/container-inspector';
import { ContainerRepository } from './container/container.repository';
import { ContainerService } from './container/container.service';
import { ContainerCreator } from './container/create-container';
import { ContainerLauncher } from './container/container-launcher';
import { ContainerUsageController } from './container/container-usage.controller';
import { ContainersController } from './container/containers.controller';
import { ExecService } from './container/exec.service';
import { LiveContainers } from './container/live-containers';
import { RecoveryService } from './container/recovery.service';
import { CGROUP_DRIVER, SYSCALLS } from './container/runtime.tokens';
import { UsageSampler } from './container/usage-sampler';
import { createLibcSyscalls } from '../platform/ffi';
import { ImageProvider, ImagesModule } from '../images';
import { RegistryProxyModule } from '../registry-proxy';
import { StoreImageProvider } from './container/store-image-provider';

/** The container runtime: lifecycle, exec, logs, stats, and the images it runs from. */
@Module({
  imports: [AuditModule, PolicyModule, ImagesModule, RegistryProxyModule],
  providers: [
    {
      provide: CGROUP_DRIVER,
      inject: [WARDEN_CONFIG],
      useFactory: (config: WardenConfig) => createCgroupDriver({ parentName: config.runtime.cgroupParent }),
    },
    { provide: SYSCALLS, useFactory: () => createLibcSyscalls() },
    { provide: ImageProvider, useClass: StoreImageProvider },
    LiveContainers,
    ContainerRepository,
    ContainerService,
    ContainerCreator,
    ContainerLauncher,
    ContainerInspector,
    ExecService,
    RecoveryService,
    UsageSampler,
  ],
  controllers: [ContainersController, ContainerUsageController],
  exports: [ContainerService, ContainerInspector, ExecService, LiveContainers, CGROUP_DRIVER, SYSCALLS],
})
export class RuntimeModule {}
