import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import { CgroupDriver, CgroupError, type CgroupHandle, type CgroupLimits } from '../cgroups';
import type { Syscalls } from '../../platform/ffi';
import type { LaunchedProcess, LaunchShimOptions, PreparedShim } from '../shim/launch-shim';
import type { ShimRunner } from '../shim/shim-runner';
import type { ShimRunConfig } from '../shim/shim-protocol';
import type { ContainerRecord } from './container';
import { ContainerFiles } from './container-files';
import { ImageProvider, type PreparedImage } from '../../images';
import { parseImageReference } from '../../policy';
import { NetworkAttacher } from '../../network';
import type { Caller } from '../../platform/http';
import { buildRunConfig, hostCgroupLimits, joinsNetworks, networked } from './run-config';
import { CGROUP_DRIVER, SHIM_RUNNER, SYSCALLS } from './runtime.tokens';
import { WritableLayers } from './writable-layers';

/** Prepared starts held at once; beyond this a create prepares nothing (its start does it all). */
const MAX_PREPARED = 64;

/** A started process in its cgroup, or why it did not start. */
export type Launch = { cgroup: CgroupHandle; launched: LaunchedProcess } | { failed: unknown };

/**
 * Runs after everything of the process is set up and before it may execve (the shim's READY,
 * see shim-protocol.ts), with its host pid. The start records itself here: if this throws,
 * the process is aborted before its command ran, and `launch` throws the same error.
 */
export type BeforeExec = (pid: number) => Promise<void>;

/** Thrown by `go` when {@link BeforeExec} failed: nothing ran, and the caller's error is kept. */
class NotLetGo extends Error {
  constructor(readonly err: unknown) {
    super('not let go', { cause: err });
  }
}

interface Prepared {
  cgroup: CgroupHandle;
  shim: PreparedShim;
}

interface Preparation {
  /** The container as created: its row is unchanged while its start waits here (see `held`). */
  record: ContainerRecord;
  /** Undefined when the preparation failed: the start then does the whole launch, and reports. */
  ready: Promise<Prepared | undefined>;
  timer: NodeJS.Timeout;
}

/**
 * Puts a container's process in place: its cgroup with the limits, then the shim (namespaces,
 * rootfs, credentials) up to execve.
 *
 * A create prepares its start (`prepare`): once the create is answered, the cgroup and the
 * shim's whole setup run until the client asks for the start, which then only lets the
 * waiting process execve. Like `runc create` followed by `runc start`, but
 * invisible: the container stays `created`, nothing of the command runs, and a preparation
 * that failed, expired (WARDEN_PREPARED_START_TTL) or was never made leaves the start to do
 * every step itself — with the same errors as before, since nothing of the preparation is
 * reported. Removing the container, or stopping Warden, kills what waits.
 */
@Injectable()
export class ContainerLauncher implements BeforeApplicationShutdown {
  private readonly log = new Logger('runtime');
  private readonly preparations = new Map<string, Preparation>();
  /** Containers whose start is under way here. */
  private readonly launching = new Set<string>();

  constructor(
    private readonly images: ImageProvider,
    @Inject(CGROUP_DRIVER) private readonly cgroups: CgroupDriver,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(SHIM_RUNNER) private readonly shim: ShimRunner,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly network: NetworkAttacher,
    private readonly layers: WritableLayers,
  ) {}

  /** Starts preparing `c`'s start (its files laid out, its policy decision taken); never throws. */
  prepare(c: ContainerRecord, image: PreparedImage): void {
    const ttl = this.config.runtime.preparedStartTtlMs;
    if (ttl <= 0 || this.preparations.size >= MAX_PREPARED) return;
    // Already prepared, or a start got here first: its cgroup must not be contested.
    if (this.preparations.has(c.id) || this.launching.has(c.id)) return;
    let runConfig: ShimRunConfig;
    let limits: CgroupLimits;
    try {
      const files = new ContainerFiles(this.config.dataDir, c.id);
      runConfig = buildRunConfig(c, image, files);
      limits = hostCgroupLimits(c.spec, files);
    } catch {
      return; // the start says what is wrong with the command or the limits
    }
    const ready = this.cgroups.create(c.id, limits).then(
      async (cgroup) => {
        try {
          return { cgroup, shim: await this.shim.prepare(...this.shimArgs(c, runConfig, cgroup)) };
        } catch (err) {
          this.log.debug(`container ${c.id}: start not prepared: ${(err as Error).message}`);
          await cgroup.destroy().catch(() => undefined);
          return undefined;
        }
      },
      () => undefined,
    );
    const timer = setTimeout(() => void this.discard(c.id), ttl);
    timer.unref();
    this.preparations.set(c.id, { record: c, ready, timer });
  }

  /**
   * The container's process, running its command: the prepared one let go, or launched from
   * scratch. Throws when nothing could be started (the image, the command, the cgroup); a
   * process that failed to start comes back as `failed` (a ShimError, usually), with nothing
   * left of it: process, shim and cgroup are gone.
   */
  async launch(c: ContainerRecord, caller: Caller, beforeExec?: BeforeExec): Promise<Launch> {
    this.launching.add(c.id);
    try {
      const launch = await this.launchOnce(c, caller, beforeExec);
      if ('failed' in launch && launch.failed instanceof NotLetGo) throw launch.failed.err;
      return launch;
    } finally {
      this.launching.delete(c.id);
    }
  }

  private async launchOnce(c: ContainerRecord, caller: Caller, beforeExec?: BeforeExec): Promise<Launch> {
    const prepared = await this.take(c.id)?.ready;
    if (prepared) return this.go(c, caller, prepared.cgroup, prepared.shim, beforeExec);
    // The image the container was created from, by digest: a tag moved since then changes nothing.
    const image = await this.images.prepare(
      c.imageDigest ? { registry: '', repository: '', digest: c.imageDigest } : parseRef(c.image),
    );
    const files = new ContainerFiles(this.config.dataDir, c.id);
    await this.layers.ensure(files);
    files.resetWork();
    let runConfig: ShimRunConfig;
    try {
      runConfig = buildRunConfig(c, image, files);
    } catch (err) {
      throw new WardenError(
        'CONTAINER_COMMAND_INVALID',
        (err as Error).message,
        { id: c.id },
        { cause: err },
      );
    }
    let cgroup: CgroupHandle;
    try {
      cgroup = await this.cgroups.create(c.id, hostCgroupLimits(c.spec, files));
    } catch (err) {
      // Limits this host cannot apply (a device that is no disk, a controller it lacks) fail
      // the start like a command that cannot run: recorded, and an auto-remove container goes.
      if (err instanceof CgroupError && (err.code === 'INVALID_LIMIT' || err.code === 'UNSUPPORTED'))
        return { failed: err };
      throw err;
    }
    try {
      // A container on a network, and any start that records itself first, stops before
      // execve as a prepared start does: its namespace is set up and its start is on the
      // record before anything of it runs.
      if (joinsNetworks(c) || beforeExec)
        return await this.go(
          c,
          caller,
          cgroup,
          await this.shim.prepare(...this.shimArgs(c, runConfig, cgroup)),
          beforeExec,
        );
      return { cgroup, launched: await this.shim.launch(...this.shimArgs(c, runConfig, cgroup)) };
    } catch (err) {
      await cgroup.destroy().catch(() => undefined);
      return { failed: err };
    }
  }

  /**
   * Lets a process waiting before execve go; first, for a container on a network, its
   * namespace is set up (the one place the start path reaches networking), then `beforeExec`
   * runs (the start's audit event). Whatever fails, nothing is left: process, network and
   * cgroup are gone, and the user's command never ran.
   */
  private async go(
    c: ContainerRecord,
    caller: Caller,
    cgroup: CgroupHandle,
    shim: PreparedShim,
    beforeExec?: BeforeExec,
  ): Promise<Launch> {
    const network = joinsNetworks(c);
    const files = new ContainerFiles(this.config.dataDir, c.id);
    try {
      if (network) await this.network.attach(caller, networked(c), shim.pid, files.network);
      if (beforeExec) await beforeExec(shim.pid).catch((err: unknown) => Promise.reject(new NotLetGo(err)));
      return { cgroup, launched: await shim.go() };
    } catch (err) {
      await shim.abort();
      if (network) await this.network.detach(c.id, files.dir);
      await cgroup.destroy().catch(() => undefined);
      return { failed: err };
    }
  }

  /**
   * The record of a container whose start is prepared here, by its full id: created by this
   * process and neither started nor removed since (either takes the preparation away first),
   * so its row still says what the create wrote. Start and wait use it instead of reading the
   * row again. Undefined for anything else.
   */
  held(id: string): ContainerRecord | undefined {
    return this.preparations.get(id)?.record;
  }

  /** Kills `id`'s prepared start, if it has one, and removes its cgroup. */
  async discard(id: string): Promise<void> {
    const prepared = await this.take(id)?.ready;
    if (!prepared) return;
    await prepared.shim.abort();
    await prepared.cgroup.destroy().catch((err: Error) => this.log.error(`container ${id}: ${err.message}`));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.preparations.keys()].map((id) => this.discard(id)));
  }

  private take(id: string): Preparation | undefined {
    const p = this.preparations.get(id);
    if (p) {
      this.preparations.delete(id);
      clearTimeout(p.timer);
    }
    return p;
  }

  private shimArgs(
    c: ContainerRecord,
    runConfig: ShimRunConfig,
    cgroup: CgroupHandle,
  ): [ShimRunConfig, LaunchShimOptions] {
    // v1: the shim's child moves itself into the cgroups (a fraction of the kernel's cost of
    // moving it from here); otherwise it is placed here before it may go on.
    const selfJoin = cgroup.selfJoinFiles;
    const files = new ContainerFiles(this.config.dataDir, c.id);
    // The shim watches the process and writes its output itself: both outlive this Warden.
    // Its stdin too (a pipe the shim keeps, or the terminal): attach sessions reach it through
    // the shim's control socket, from this Warden or the next one.
    const monitor = {
      stateDir: files.state,
      // The effective spec carries the limits (request, else policy default, else config's).
      logPath: c.spec.logDriver === 'none' ? null : files.log,
      logMaxBytes: c.spec.logMaxBytes ?? this.config.runtime.logMaxBytes,
      logMaxFiles: c.spec.logMaxFiles ?? this.config.runtime.logMaxFiles,
      cgroupDirs: [...new Set(Object.values(cgroup.paths))],
      stdin: c.options.openStdin,
    };
    const [rows, cols] = c.options.consoleSize ?? [0, 0];
    const process = c.options.tty ? { ...runConfig.process, terminal: { rows, cols } } : runConfig.process;
    return [
      { ...runConfig, monitor, process, ...(selfJoin && { cgroupTasks: [...selfJoin] }) },
      {
        placeInCgroups: selfJoin ? undefined : (pid) => cgroup.addProcess(pid),
        stdio: ['ignore', 'ignore', 'ignore'],
        syscalls: this.sys,
      },
    ];
  }
}

function parseRef(s: string) {
  const r = parseImageReference(s);
  if (!r.ok)
    throw new WardenError(
      'CONTAINER_START_FAILED',
      `stored image reference '${s}' no longer parses: ${r.error}`,
    );
  return r.ref;
}
