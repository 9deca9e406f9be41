import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import express from 'express';
import pino from 'pino';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/platform/config';
import { migrate } from '../../src/platform/database';
import { HttpExceptionFilter } from '../../src/platform/errors';
import { startInfrastructure } from '../../src/platform/infrastructure';
import {
  CGROUP_DRIVER,
  ContainerService,
  LiveContainers,
  SHIM_RUNNER,
  SIZED_FILESYSTEMS,
  SYSCALLS,
} from '../../src/runtime';
import { plainDirectoryLayers } from './fakes/sized-filesystems';
import { createCgroupDriver, type CgroupDriver } from '../../src/runtime/cgroups';
import { buildFakeCgroupTree, type FakeCgroupTree } from '../../src/runtime/cgroups/testing/fake-cgroup-tree';
import { ContainerRepository } from '../../src/runtime/container/container.repository';
import { ImageProvider, type PreparedImage } from '../../src/images';
import { ContainerLauncher } from '../../src/runtime/container/container-launcher';
import { freshDatabase, freshRedis } from '../utils/services';
import { testWardenEnv } from '../utils/warden';
import { FakeShim, writePasswd } from './fakes/fake-shim';
import { RecordingSyscalls } from './fakes/recording-syscalls';

export { ADMIN_TOKEN, api } from '../utils/warden';

/** A fixed image: one lower dir with an /etc/passwd, so resolveUser and the run config work. */
class FakeImages extends ImageProvider {
  constructor(private readonly lower: string) {
    super();
  }

  async prepare(): Promise<PreparedImage> {
    return {
      reference: 'docker.io/library/busybox:1.35',
      digest: `sha256:${'b'.repeat(64)}`,
      lowerdirs: [this.lower],
      config: {
        env: ['PATH=/bin'],
        cmd: ['sh'],
        entrypoint: [],
        labels: { 'from.image': 'yes' },
        volumes: [],
      },
      skippedDevices: [],
      deviceNodes: [],
    };
  }
}

export interface FastWarden {
  url: string;
  dockerSocket: string;
  databaseUrl: string;
  dataDir: string;
  shim: FakeShim;
  sys: RecordingSyscalls;
  cgroups: CgroupDriver;
  tree: FakeCgroupTree;
  containers: ContainerService;
  repo: ContainerRepository;
  live: LiveContainers;
  launcher: ContainerLauncher;
  /** The test's own redis-server (to pause or kill it). */
  redis: { readonly pid: number };
  app: NestExpressApplication;
  close(): Promise<void>;
}

/**
 * Warden's whole application — REST, the Docker API on its socket, policy, audit — on real
 * PostgreSQL and Redis (started by the test setup), with the host's parts faked through their
 * seams: the init shim (SHIM_RUNNER), the process syscalls (SYSCALLS), the cgroup driver on a
 * fake cgroupfs (CGROUP_DRIVER), sized writable layers as plain directories (SIZED_FILESYSTEMS)
 * and the image store. Needs no root; starts in about a second.
 */
export async function startFastWarden(env: Record<string, string> = {}): Promise<FastWarden> {
  const [db, redis] = await Promise.all([freshDatabase(), freshRedis()]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-fast-'));
  const lower = path.join(dataDir, 'image-root');
  fs.mkdirSync(path.join(lower, 'etc'), { recursive: true });
  await writePasswd(lower);
  const config = loadConfig({ ...testWardenEnv(dataDir, db.url, redis.url), ...env });
  const logger = pino({ level: 'error' });
  const infra = await startInfrastructure(config, true, logger);
  await migrate(infra.databaseUrl, 'up');
  const tree = await buildFakeCgroupTree({ mode: 'hybrid' });
  const cgroups = await createCgroupDriver({ root: tree.root, fs: tree.fs, parentName: 'warden-fast' });
  const shim = new FakeShim(tree.fs);
  const sys = new RecordingSyscalls(shim);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ role: 'up', config, infra, logger })],
  })
    .overrideProvider(SYSCALLS)
    .useValue(sys.syscalls)
    .overrideProvider(CGROUP_DRIVER)
    .useValue(cgroups)
    .overrideProvider(SHIM_RUNNER)
    .useValue(shim)
    .overrideProvider(SIZED_FILESYSTEMS)
    .useValue(plainDirectoryLayers)
    .overrideProvider(ImageProvider)
    .useValue(new FakeImages(lower))
    .compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  app.use(express.json({ limit: '4mb' }));
  app.useGlobalFilters(new HttpExceptionFilter());
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    dockerSocket: config.dockerSocket,
    databaseUrl: db.url,
    dataDir,
    shim,
    sys,
    cgroups,
    tree,
    containers: app.get(ContainerService),
    repo: app.get(ContainerRepository),
    live: app.get(LiveContainers),
    launcher: app.get(ContainerLauncher),
    redis,
    app,
    close: async () => {
      await app.close();
      await infra.stop();
      await redis.stop();
      await db.drop();
      await tree.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
