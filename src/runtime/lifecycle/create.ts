import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditService } from '../../audit';
import { formatBytes, PolicyService } from '../../policy';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { owningTeam, scopeOf, TEAM_LABEL } from '../../platform/scope';
import { auditContainer, CONTAINER_NAME_RE, ContainerOptions, ContainerRecord } from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { ContainerLauncher } from '../container/container-launcher';
import { ContainerRepository } from '../container/container.repository';
import { ImageProvider } from '../../images';
import { NetworkAttacher, NetworkService, type EndpointRequest } from '../../network';
import { hostnameOf, networked, networkOf } from '../container/run-config';
import { ContainerVolumes } from '../container/container-volumes';
import { WritableLayers } from '../container/writable-layers';
import { formatRestartPolicy } from '../../policy';
import type { ImageHealthcheck } from '../../images';
import type { HealthcheckConfig } from '../container/container';
import { initialHealth, mergeHealthcheck } from '../health/healthcheck';
import { dispatchedContainerId, type Judged } from '../dispatch/dispatch.jobs';
import { LaunchDispatcher } from '../dispatch/launch-dispatcher';

export { dispatchedContainerId } from '../dispatch/dispatch.jobs';

export interface CreateRequest extends Partial<Omit<ContainerOptions, 'volumeMounts' | 'healthcheck'>> {
  name?: string;
  /** `--volumes-from`: `container[:ro|rw]`, whose mounts are added before the policy decides. */
  volumesFrom?: string[];
  /** The team to own it (REST `team`; the Docker API's `warden.team` label): see platform/scope. */
  team?: string;
  /** The request's health check (`--health-*`), merged over the image's HEALTHCHECK. */
  healthcheck?: HealthcheckConfig;
  /**
   * The node to run it (REST `node`; the Docker API's `warden.node` label): judged here, then
   * created there through its queue (dispatch/). Unset or this node: here.
   */
  node?: string;
  /** Everything else is the launch request the policy judges (image, cmd, env, caps, …). */
  launch: Record<string, unknown>;
}

/**
 * Creating a container reads as its steps: the policy decides (and records the decision,
 * before anything exists) → the image is resolved and unpacked → the container's files →
 * its row → the audit event; then its start is prepared (see ContainerLauncher). A denial
 * or a bad request creates nothing.
 */
@Injectable()
export class ContainerCreator {
  constructor(
    private readonly repo: ContainerRepository,
    private readonly policy: PolicyService,
    private readonly images: ImageProvider,
    private readonly launcher: ContainerLauncher,
    private readonly audit: AuditService,
    private readonly network: NetworkAttacher,
    private readonly networks: NetworkService,
    private readonly volumes: ContainerVolumes,
    private readonly layers: WritableLayers,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly dispatcher: LaunchDispatcher,
  ) {}

  /** `judged`: the decision another node made and recorded for this launch (not decided again). */
  async create(caller: Caller, req: CreateRequest, judged?: Judged): Promise<ContainerRecord> {
    const target = req.node ?? (judged ? undefined : labelOf(req.launch, NODE_LABEL));
    const elsewhere = target !== undefined && target !== this.config.runtime.node ? target : undefined;
    // A node that cannot take it is refused before a decision is recorded.
    if (elsewhere) await this.dispatcher.assertUp(elsewhere);
    if (req.name !== undefined && !CONTAINER_NAME_RE.test(req.name.replace(/^\//, ''))) {
      throw new WardenError(
        'VALIDATION_FAILED',
        `invalid container name '${req.name}': use [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
      );
    }
    // Who will own it is settled first: a team the caller is not in changes nothing.
    const team = owningTeam(caller.principal, req.team ?? teamLabel(req.launch));
    const fromVolumes = await this.volumes.withVolumesFrom(
      req.launch,
      req.volumesFrom ?? [],
      scopeOf(caller.principal),
    );
    // Judged elsewhere: the networks were named there, and judged with them.
    const { launch, endpoints } = judged
      ? { launch: fromVolumes, endpoints: req.endpoints ?? {} }
      : await this.withNetworks(caller, fromVolumes, req.endpoints ?? {});
    const decided = judged ?? (await this.policy.decide(caller, launch));
    const { decision, effectiveSpec: spec, launchRequestId } = decided;
    if (!decision.allowed) {
      throw new WardenError('LAUNCH_DENIED', decision.reasons.map((r) => r.message).join('; '), {
        policy: decision.policy,
        policyVersion: decision.policyVersion,
        reasons: decision.reasons,
      });
    }
    if (req.autoRemove && spec.restartPolicy)
      throw new WardenError(
        'VALIDATION_FAILED',
        `can't create 'AutoRemove' container with restart policy: --rm and --restart ${formatRestartPolicy(spec.restartPolicy)} exclude each other`,
      );
    if (spec.privileged)
      throw new WardenError(
        'CONTAINER_COMMAND_INVALID',
        'privileged containers are not supported by this runtime',
      );
    if (spec.devices.length)
      throw new WardenError(
        'CONTAINER_COMMAND_INVALID',
        'device mappings are not supported by this runtime yet',
      );
    if (spec.networkMode.startsWith('container:'))
      throw new WardenError(
        'CONTAINER_COMMAND_INVALID',
        `network '${spec.networkMode}' is not supported: use none, host, bridge or a network's name`,
      );
    if (elsewhere)
      return (await this.dispatcher.create(elsewhere, {
        kind: 'create',
        caller,
        req: { ...req, launch, endpoints, volumesFrom: [] },
        judged: { ...decided, launchRequestId: launchRequestId! },
      })) as ContainerRecord;
    // Before anything exists: the networks must exist, and bridge networking be on.
    const planned =
      networkOf(spec) === 'host'
        ? []
        : await this.network.plan(
            { networkMode: spec.networkMode, endpoints, ports: spec.ports },
            scopeOf(caller.principal),
          );
    if (planned.length === 0 && spec.ports.length)
      throw new WardenError(
        'CONTAINER_COMMAND_INVALID',
        `ports can only be published on a bridge network, not with network ${spec.networkMode}`,
      );
    const image = await this.images.prepare(spec.image, caller);
    const volumeMounts = await this.volumes.resolve(caller, spec, image, team);
    const healthcheck = mergeHealthcheck(req.healthcheck, imageHealthcheck(image.config.healthcheck));
    const id = judged ? dispatchedContainerId(judged.launchRequestId) : randomBytes(32).toString('hex');
    const name = req.name?.replace(/^\//, '') ?? `warden_${id.slice(0, 8)}`;
    const record: ContainerRecord = {
      id,
      name,
      image: image.reference,
      imageDigest: image.digest,
      spec,
      options: {
        autoRemove: req.autoRemove ?? false,
        openStdin: req.openStdin ?? false,
        ...(req.openStdin && req.stdinOnce ? { stdinOnce: true } : {}),
        ...(req.tty ? { tty: true } : {}),
        ...(req.tty && req.consoleSize ? { consoleSize: req.consoleSize } : {}),
        hostname: req.hostname,
        ...(Object.keys(endpoints).length ? { endpoints } : {}),
        ...(req.publishAllPorts ? { publishAllPorts: true } : {}),
        ...(typeof req.launch.image === 'string' ? { imageAsGiven: req.launch.image } : {}),
        ...(volumeMounts.length ? { volumeMounts } : {}),
        ...(healthcheck ? { healthcheck } : {}),
      },
      policyVersion: decision.policyVersion ?? undefined,
      state: 'created',
      node: this.config.runtime.node,
      oomKilled: false,
      restartCount: 0,
      manuallyStopped: false,
      ...(healthcheck ? { health: initialHealth() } : {}),
      createdBy: caller.principal.id,
      team,
      createdAt: new Date().toISOString(),
      labels: { ...image.config.labels, ...spec.labels },
    };
    const files = new ContainerFiles(this.config.dataDir, id);
    // The row is sent first and the files laid out while it travels; whichever fails, the
    // other is undone, so a failed create leaves neither (nor the anonymous volumes made for it).
    const inserted = this.repo.insert(record);
    inserted.catch(() => undefined); // awaited below in every case
    try {
      files.create(hostnameOf(record), networkOf(spec), spec.storageBytes !== undefined);
      if (spec.storageBytes !== undefined) await this.sizedLayer(files, spec.storageBytes);
    } catch (err) {
      if (await inserted.catch(() => false)) await this.repo.delete(id);
      await this.layers.remove(files);
      await this.volumes.discard(caller, record);
      throw err;
    }
    try {
      if (!(await inserted)) {
        throw new WardenError('CONTAINER_NAME_IN_USE', `the container name '/${name}' is already in use`, {
          name,
        });
      }
      if (volumeMounts.length) await this.volumes.attach(caller, record, image, files.rootfs);
    } catch (err) {
      if (await inserted.catch(() => false)) await this.repo.delete(id);
      await this.layers.remove(files);
      await this.volumes.discard(caller, record);
      throw err;
    }
    if (planned.length) {
      try {
        await this.network.allocate(caller, networked(record), planned, files.network);
      } catch (err) {
        // Its addresses go with its row (ON DELETE CASCADE).
        await this.repo.delete(id);
        await this.layers.remove(files);
        throw err;
      }
    }
    await this.audit.record({
      type: 'container.created',
      principal: caller.principal.id,
      source: caller.source,
      subject: id,
      policyHash: record.policyVersion,
      // launchRequestId links the container to its decision: an auditor follows it from one to the other.
      payload: {
        ...auditContainer(record),
        team,
        spec,
        launchRequestId: launchRequestId ?? null,
        // Device nodes under the image's /dev, left out at unpack: noted where an auditor looks.
        ...(image.skippedDevices.length ? { skippedDeviceNodes: image.skippedDevices } : {}),
      },
    });
    // Its start is set up from here until the start is asked for. On the next turn of the
    // loop: the answer to this create goes out first (measured: ~1 ms sooner start-to-exit).
    setImmediate(() => this.launcher.prepare(record, image));
    return record;
  }

  /**
   * Every network of the create, by name, in the launch request the policy judges: the
   * further ones (REST `networks`, the keys of `endpoints`: Docker's EndpointsConfig, as
   * `docker run --network a --network b` and Compose send them) as `networks`, each judged as
   * a `network connect` is; an id or id prefix as the name it stands for. The endpoints'
   * settings follow the names. A `networks` that is not a list of strings is left to the
   * spec's validation (a 400 naming it).
   */
  private async withNetworks(
    caller: Caller,
    launch: Record<string, unknown>,
    endpoints: Record<string, EndpointRequest>,
  ): Promise<{ launch: Record<string, unknown>; endpoints: Record<string, EndpointRequest> }> {
    const given = launch.networks ?? [];
    const mode = typeof launch.network === 'string' ? launch.network : undefined;
    if (!Array.isArray(given) || !given.every((n) => typeof n === 'string')) return { launch, endpoints };
    const refs = [...given, ...Object.keys(endpoints)];
    if (!refs.length && mode === undefined) return { launch, endpoints };
    const named = await this.networks.names([...(mode ? [mode] : []), ...refs], scopeOf(caller.principal));
    const nameOf = (ref: string) => named.get(ref) ?? ref;
    const modeName = mode === undefined ? undefined : nameOf(mode);
    const further = [...new Set(refs.map(nameOf))].filter((n) => n !== modeName);
    const out: Record<string, unknown> = { ...launch };
    if (modeName !== undefined) out.network = modeName;
    if (further.length) out.networks = further;
    else delete out.networks;
    const keyed: Record<string, EndpointRequest> = {};
    for (const [ref, e] of Object.entries(endpoints)) keyed[nameOf(ref)] = e;
    for (const n of further) keyed[n] ??= {};
    return { launch: out, endpoints: keyed };
  }

  /** `--storage-opt size=`: the writable layer is a filesystem of that size (ContainerFiles). */
  private async sizedLayer(files: ContainerFiles, bytes: number): Promise<void> {
    try {
      await this.layers.make(files, bytes);
    } catch (err) {
      throw new WardenError(
        'RUNTIME_UNAVAILABLE',
        `the writable layer of ${formatBytes(bytes)} could not be made: ${(err as Error).message.trim()}`,
        { storageBytes: bytes },
        { cause: err },
      );
    }
  }
}

/** The `warden.team` label, how a Docker client names the owning team. */
function teamLabel(launch: Record<string, unknown>): string | undefined {
  return labelOf(launch, TEAM_LABEL);
}

/** The Docker CLI's way to name the node: `--label warden.node=<name>` (REST has `node`). */
export const NODE_LABEL = 'warden.node';

function labelOf(launch: Record<string, unknown>, key: string): string | undefined {
  const labels = launch.labels as Record<string, unknown> | undefined;
  const v = labels?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** The image config's HealthConfig in the container's terms. */
function imageHealthcheck(h: ImageHealthcheck | undefined): HealthcheckConfig | undefined {
  if (!h) return undefined;
  return {
    test: h.Test,
    interval: h.Interval,
    timeout: h.Timeout,
    startPeriod: h.StartPeriod,
    startInterval: h.StartInterval,
    retries: h.Retries,
  };
}
