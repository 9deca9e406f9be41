import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { inScope, owningTeam, scopeOf, TEAM_LABEL } from '../platform/scope';
import { PolicyService, toVolumeSpec, type VolumeMount } from '../policy';
import { LocalVolumeDriver } from './local-driver';
import {
  ANONYMOUS_LABEL,
  type ResolvedVolumeMount,
  type VolumeCreateRequest,
  type VolumeFilter,
} from './volume';
import type { VolumeRecord } from './volume';
import { VolumeRepository } from './volume.repository';

export interface VolumeView extends VolumeRecord {
  mountpoint: string;
}

/**
 * Volumes: created after the policy's decision on their driver and options, kept in
 * PostgreSQL, laid out by the local driver. Containers reach them through `resolveMounts`
 * (before their row exists) and `attach` (after), so "in use" is the mount rows' answer.
 */
@Injectable()
export class VolumesService implements OnApplicationBootstrap {
  private readonly log = new Logger('volumes');
  readonly driver: LocalVolumeDriver;

  constructor(
    private readonly repo: VolumeRepository,
    private readonly policy: PolicyService,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    this.driver = new LocalVolumeDriver(path.join(config.dataDir, 'volumes'));
  }

  /** Sized volumes' filesystems are mounted again after a reboot. */
  async onApplicationBootstrap(): Promise<void> {
    for (const v of await this.repo.list().catch(() => [])) {
      if (v.sizeBytes === undefined) continue;
      await this.driver
        .ensureMounted(v.name, v.sizeBytes)
        .catch((err: Error) =>
          this.log.error(`volume ${v.name}: mounting its filesystem failed: ${err.message}`),
        );
    }
  }

  view(v: VolumeRecord): VolumeView {
    return { ...v, mountpoint: this.driver.dataOf(v.name) };
  }

  async create(
    caller: Caller,
    req: VolumeCreateRequest,
    opts: { anonymous?: boolean } = {},
  ): Promise<VolumeView> {
    const name = req.name || randomBytes(32).toString('hex');
    const parsed = toVolumeSpec({ ...req, name });
    if (!parsed.ok)
      throw new WardenError('VALIDATION_FAILED', `invalid volume: ${parsed.errors.join('; ')}`, {
        problems: parsed.errors,
      });
    const team = owningTeam(caller.principal, req.team ?? req.labels?.[TEAM_LABEL]);
    // Docker answers a create of an existing volume with that volume, options unchanged.
    const existing = await this.repo.get(name);
    if (existing) return this.sameDriver(caller, existing, parsed.spec.driver);
    const { decision, effectiveVolume: vol } = await this.policy.decideVolume(caller, parsed.spec);
    if (!decision.allowed)
      throw new WardenError('VOLUME_DENIED', decision.reasons.map((r) => r.message).join('; '), {
        policy: decision.policy,
        reasons: decision.reasons,
      });
    if (vol.driver !== 'local')
      throw new WardenError('VALIDATION_FAILED', `volume driver ${vol.driver} is not available: use local`);
    const unsupported = Object.keys(vol.options);
    if (unsupported.length)
      throw new WardenError(
        'VALIDATION_FAILED',
        `volume option ${unsupported.join(', ')} is not supported by the local driver: only size is`,
      );
    const options = { ...(req.options ?? {}) };
    const labels = { ...vol.labels, ...(opts.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const record: VolumeRecord = {
      name,
      driver: vol.driver,
      options,
      labels,
      sizeBytes: vol.sizeBytes,
      anonymous: !!opts.anonymous,
      createdBy: caller.principal.id,
      team,
      createdAt: new Date().toISOString(),
    };
    const inserted = await this.repo.insert(record);
    if (!inserted) return this.sameDriver(caller, (await this.repo.get(name)) ?? record, vol.driver);
    try {
      await this.driver.create(name, vol.sizeBytes);
    } catch (err) {
      await this.repo.deleteUnused(name).catch(() => undefined);
      await this.driver.remove(name).catch(() => undefined);
      throw new WardenError(
        'RUNTIME_UNAVAILABLE',
        `volume ${name} could not be laid out: ${(err as Error).message}`,
        { volume: name },
        { cause: err },
      );
    }
    await this.audit.record({
      type: 'volume.created',
      principal: caller.principal.id,
      source: caller.source,
      subject: name,
      policyHash: decision.policyVersion ?? undefined,
      payload: {
        driver: record.driver,
        options,
        labels,
        sizeBytes: record.sizeBytes ?? null,
        anonymous: record.anonymous,
        team,
      },
    });
    return this.view(inserted);
  }

  private sameDriver(caller: Caller, v: VolumeRecord, driver: string): VolumeView {
    // Names are one namespace for every team: another team's volume is neither shown nor
    // mounted, and its name cannot be had (Docker's own answer to a taken name is this one).
    if (!inScope(scopeOf(caller.principal), v))
      throw new WardenError(
        'VOLUME_IN_USE',
        `volume name ${v.name} is taken by a volume of another team: choose another name`,
        { name: v.name },
      );
    if (v.driver !== driver)
      throw new WardenError(
        'VOLUME_IN_USE',
        `volume ${v.name} exists already with driver ${v.driver}; remove it first to use driver ${driver}`,
      );
    return this.view(v);
  }

  /** A volume the caller's scope sees; 404 for any other. */
  async get(caller: Caller, name: string): Promise<VolumeView> {
    const v = await this.repo.get(name);
    if (!v || !inScope(scopeOf(caller.principal), v))
      throw new WardenError('VOLUME_NOT_FOUND', `get ${name}: no such volume`, { name });
    return this.view(v);
  }

  /** Every filter runs in SQL, the caller's scope too. */
  async list(caller: Caller, filter: Omit<VolumeFilter, 'scope'> = {}): Promise<VolumeView[]> {
    return (await this.repo.list({ ...filter, scope: scopeOf(caller.principal) })).map((v) => this.view(v));
  }

  async usage(name: string): Promise<{ size: number; refCount: number }> {
    const [size, users] = await Promise.all([this.driver.usageBytes(name), this.repo.usedBy(name)]);
    return { size, refCount: users.length };
  }

  refCounts(): Promise<Map<string, number>> {
    return this.repo.refCounts();
  }

  /** 409 while a container mounts it (Docker's answer with `force` too); `force` ignores a missing one. */
  async remove(caller: Caller, name: string, opts: { force?: boolean } = {}): Promise<void> {
    const v = await this.repo.get(name);
    if (!v || !inScope(scopeOf(caller.principal), v)) {
      if (opts.force) return;
      throw new WardenError('VOLUME_NOT_FOUND', `get ${name}: no such volume`, { name });
    }
    const gone = await this.repo.deleteUnused(name);
    if (!gone) {
      const users = await this.repo.usedBy(name);
      throw new WardenError('VOLUME_IN_USE', `remove ${name}: volume is in use - [${users.join(', ')}]`, {
        name,
        containers: users,
      });
    }
    await this.removeFiles(caller, gone);
  }

  /** Unused volumes: anonymous ones only unless `all` (API ≥ 1.42), and those the labels pick. */
  async prune(
    caller: Caller,
    opts: {
      all?: boolean;
      labels?: Array<[string, string | undefined]>;
      notLabels?: Array<[string, string | undefined]>;
    },
  ): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const candidates = await this.repo.list({
      scope: scopeOf(caller.principal),
      dangling: true,
      labels: opts.labels,
      anonymousOnly: !opts.all,
    });
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const v of candidates) {
      if (opts.notLabels?.some(([k, val]) => (val === undefined ? k in v.labels : v.labels[k] === val)))
        continue;
      const size = await this.driver.usageBytes(v.name).catch(() => 0);
      const gone = await this.repo.deleteUnused(v.name);
      if (!gone) continue; // mounted meanwhile
      await this.removeFiles(caller, gone, 'prune');
      deleted.push(v.name);
      spaceReclaimed += size;
    }
    return { deleted, spaceReclaimed };
  }

  private async removeFiles(caller: Caller, v: VolumeRecord, via?: 'prune' | 'container'): Promise<void> {
    try {
      await this.driver.remove(v.name);
    } catch (err) {
      // The row is gone, so the volume is; its leftover files are no volume's.
      this.log.error(`volume ${v.name}: removing its files failed: ${(err as Error).message}`);
    }
    await this.audit.record({
      type: 'volume.removed',
      principal: caller.principal.id,
      source: caller.source,
      subject: v.name,
      payload: { driver: v.driver, anonymous: v.anonymous, via: via ?? 'remove' },
    });
  }

  /**
   * The volumes a new container mounts: named ones found or created (Docker creates a missing
   * one with the local driver), anonymous ones created for it. Each creation is judged by the
   * policy. Undo with `discard` if the container is not made after all.
   */
  /** `team`: the container's, which the volumes made for it belong to as well. */
  async resolveMounts(
    caller: Caller,
    wants: readonly VolumeMount[],
    team: string | null,
  ): Promise<ResolvedVolumeMount[]> {
    const out: ResolvedVolumeMount[] = [];
    try {
      for (const w of wants) {
        const v = await this.create(
          caller,
          { name: w.name || undefined, team: team ?? undefined },
          { anonymous: w.name === '' },
        );
        await this.driver.ensureMounted(v.name, v.sizeBytes);
        out.push({
          name: v.name,
          source: v.mountpoint,
          target: w.target,
          readOnly: w.readOnly,
          noCopy: w.noCopy,
          anonymous: v.anonymous,
        });
      }
    } catch (err) {
      await this.discard(caller, out);
      throw err;
    }
    return out;
  }

  /** Records that the container mounts them (its row exists now): one `volume.mounted` each. */
  async attach(caller: Caller, containerId: string, mounts: readonly ResolvedVolumeMount[]): Promise<void> {
    await this.repo.attach(containerId, mounts);
    if (mounts.length === 0) return;
    await this.audit.recordAll(
      mounts.map((m) => ({
        type: 'volume.mounted' as const,
        principal: caller.principal.id,
        source: caller.source,
        subject: m.name,
        payload: { container: containerId, target: m.target, readOnly: m.readOnly, anonymous: m.anonymous },
      })),
    );
  }

  /** An empty volume gets the image's files at its target (Docker's copy-up), unless nocopy. */
  async populate(mount: ResolvedVolumeMount, imageDir: string | undefined): Promise<void> {
    if (mount.noCopy || imageDir === undefined || !this.driver.isEmpty(mount.name)) return;
    await this.driver.populate(mount.name, imageDir);
  }

  /** Removes anonymous volumes a container had (`rm -v`, `--rm`), those nothing else mounts. */
  async discard(caller: Caller, mounts: readonly ResolvedVolumeMount[]): Promise<void> {
    for (const m of mounts) {
      if (!m.anonymous) continue;
      const gone = await this.repo.deleteUnused(m.name).catch(() => undefined);
      if (gone) await this.removeFiles(caller, gone, 'container');
    }
  }
}
