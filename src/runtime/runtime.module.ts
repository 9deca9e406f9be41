import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { FleetModule } from '../fleet';
import { PolicyModule } from '../policy';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { createCgroupDriver } from './cgroups';
import { ContainerInspector } from './container/container-inspector';
import { ContainerRepository } from './container/container.repository';
import { ContainerService } from './container/container.service';
import { ContainerStdio } from './container/container-stdio';
import { AttachSessions } from './container/attach-sessions';
import { AttachWebSocketServer } from './container/attach-websocket';
import { RestNodeForwarder } from './container/rest-node-forward';
import { AuthModule } from '../auth';
import { ContainerLauncher } from './container/container-launcher';
import { ContainerVolumes } from './container/container-volumes';
import { ContainerArchive } from './archive/container-archive';
import { ContainerRoots } from './archive/container-root';
import { CommitVerb } from './lifecycle/commit';
import { ContainerUsageController } from './container/container-usage.controller';
import { ContainerTerminalController } from './container/container-terminal.controller';
import { ContainersController } from './container/containers.controller';
import { ExecRecordingsController } from './exec/exec-recordings.controller';
import { TranscriptPruner } from './exec/transcript-pruner';
import { LiveContainers } from './container/live-containers';
import { RecoveryService } from './container/recovery.service';
import { CGROUP_DRIVER, SHIM_RUNNER, SIZED_FILESYSTEMS, SYSCALLS } from './container/runtime.tokens';
import { hostSizedFilesystems, WritableLayers } from './container/writable-layers';
import { ContainerLocks } from './lifecycle/container-locks';
import { ContainerRefs } from './lifecycle/container-refs';
import { ContainerCreator } from './lifecycle/create';
import { DispatchRepository } from './dispatch/dispatch.repository';
import { LaunchDispatcher } from './dispatch/launch-dispatcher';
import { LaunchWorker } from './dispatch/launch-worker';
import { ExecService } from './lifecycle/exec';
import { ExitRecorder } from './lifecycle/exit';
import { KillVerb } from './lifecycle/kill';
import { NetworkConnectVerb } from './lifecycle/network-connect';
import { RemoveVerb } from './lifecycle/remove';
import { RestartVerb } from './lifecycle/restart';
import { RestartScheduler } from './lifecycle/restart-scheduler';
import { HealthMonitor } from './health/health-monitor';
import { ProbeRunner } from './health/probe-runner';
import { StartVerb } from './lifecycle/start';
import { StopVerb } from './lifecycle/stop';
import { WaitVerb } from './lifecycle/wait';
import { PauseVerb } from './lifecycle/pause';
import { RenameVerb } from './lifecycle/rename';
import { UpdateVerb } from './lifecycle/update';
import { nativeShimRunner } from './shim/shim-runner';
import { UsageSampler } from './container/usage-sampler';
import { createLibcSyscalls } from '../platform/ffi';
import { ImageProvider, ImagesModule } from '../images';
import { RegistryProxyModule } from '../registry-proxy';
import { StoreImageProvider } from './container/store-image-provider';
import { NetworkModule } from '../network';
import { VolumesModule } from '../volumes';

/** The container runtime: lifecycle, exec, logs, stats, and the images it runs from. */
@Module({
  imports: [
    FleetModule,
    AuditModule,
    AuthModule,
    PolicyModule,
    ImagesModule,
    RegistryProxyModule,
    NetworkModule,
    VolumesModule,
  ],
  providers: [
    {
      provide: CGROUP_DRIVER,
      inject: [WARDEN_CONFIG],
      useFactory: (config: WardenConfig) => createCgroupDriver({ parentName: config.runtime.cgroupParent }),
    },
    { provide: SYSCALLS, useFactory: () => createLibcSyscalls() },
    { provide: SHIM_RUNNER, useValue: nativeShimRunner },
    { provide: SIZED_FILESYSTEMS, useValue: hostSizedFilesystems },
    WritableLayers,
    { provide: ImageProvider, useClass: StoreImageProvider },
    LiveContainers,
    ContainerRepository,
    ContainerService,
    // The lifecycle: one provider per verb (lifecycle/transitions.ts has the table).
    ContainerLocks,
    ContainerRefs,
    ContainerCreator,
    ContainerVolumes,
    ContainerRoots,
    ContainerArchive,
    ExitRecorder,
    StartVerb,
    StopVerb,
    KillVerb,
    RestartVerb,
    RestartScheduler,
    HealthMonitor,
    ProbeRunner,
    RemoveVerb,
    WaitVerb,
    NetworkConnectVerb,
    PauseVerb,
    RenameVerb,
    UpdateVerb,
    CommitVerb,
    ContainerLauncher,
    ContainerStdio,
    AttachSessions,
    AttachWebSocketServer,
    RestNodeForwarder,
    ContainerInspector,
    ExecService,
    TranscriptPruner,
    RecoveryService,
    UsageSampler,
    // After RecoveryService: another node's jobs act on containers already reconciled.
    DispatchRepository,
    LaunchDispatcher,
    LaunchWorker,
  ],
  controllers: [
    ContainersController,
    ContainerUsageController,
    ContainerTerminalController,
    ExecRecordingsController,
  ],
  exports: [
    ContainerService,
    RestNodeForwarder,
    ContainerStdio,
    AttachSessions,
    ContainerArchive,
    ContainerInspector,
    ExecService,
    NetworkConnectVerb,
    LiveContainers,
    CGROUP_DRIVER,
    SYSCALLS,
    SHIM_RUNNER,
  ],
})
export class RuntimeModule {}
