import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import type { RegistryUpstream } from '../platform/config';
import { WardenError } from '../platform/errors';
import { ChangeBus } from '../platform/queue';
import { UpstreamClient } from './upstream/upstream-client';
import { RegistryUpstreamRepository, StoredUpstream } from './upstream-admin/registry-upstream.repository';
import { UpstreamCredentialsBox } from './upstream-admin/upstream-credentials';

/**
 * How often every API process re-reads the upstreams added through the admin API. The
 * process that made a change reloads at once and publishes it (ChangeBus), so the others
 * (several nodes on one database and Redis) reload within a second; this poll of one small
 * table is the net under that, so a lost message can never leave a node on an old list for good.
 */
export const UPSTREAM_RELOAD_MS = 5_000;

/** A client-facing name resolved to the upstream repository it stands for. */
export interface UpstreamTarget {
  upstream: RegistryUpstream;
  client: UpstreamClient;
  /** As the client wrote it: `<alias>/<repo>`. */
  name: string;
  /** As the upstream knows it (with `library/` added for Docker Hub's one-component names). */
  repository: string;
  /** registry/repository, what policy rules match: `docker.io/library/busybox`, `127.0.0.1:5000/app`. */
  imageName: string;
}

interface Entry {
  client: UpstreamClient;
  source: 'environment' | 'api';
  /** For API upstreams: what the entry was built from, so an unchanged row keeps its client (and tokens). */
  version?: string;
  /** Set when this node cannot open the upstream's credentials: it is known but not usable here. */
  problem?: string;
}

/**
 * The configured upstreams, one client each (so tokens are cached per upstream): those of
 * WARDEN_REGISTRY_UPSTREAMS, fixed for the process, then those added through the admin API
 * (registry_upstreams), re-read on a change and every UPSTREAM_RELOAD_MS. An environment
 * alias wins over a stored one of the same name. Names map as `<alias>/<repository>` — see
 * docs/registry-proxy.md.
 */
@Injectable()
export class Upstreams implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('registry');
  private entries = new Map<string, Entry>();
  private readonly envAliases: Set<string>;
  private timer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  private readonly warned = new Set<string>();

  constructor(
    @Inject(WARDEN_CONFIG) config: WardenConfig,
    private readonly repo: RegistryUpstreamRepository,
    private readonly credentials: UpstreamCredentialsBox,
    private readonly changes: ChangeBus,
  ) {
    for (const u of config.registry.upstreams)
      this.entries.set(u.alias, { client: new UpstreamClient(u), source: 'environment' });
    this.envAliases = new Set(this.entries.keys());
  }

  async onModuleInit(): Promise<void> {
    this.changes.subscribe('upstreams', () => {
      this.reload().catch((err: unknown) =>
        this.log.warn({ err }, 'could not re-read registry upstreams after a change elsewhere'),
      );
    });
    await this.reload().catch((err: unknown) =>
      this.log.warn(
        { err },
        'could not read registry upstreams from the database; using the environment only',
      ),
    );
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) =>
        this.log.warn({ err }, 'could not re-read registry upstreams; keeping the last known list'),
      );
    }, UPSTREAM_RELOAD_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Re-reads the stored upstreams; calls queue behind each other, so the last one sees every change. */
  reload(): Promise<void> {
    const next = this.reloading.catch(() => undefined).then(() => this.load());
    this.reloading = next;
    return next;
  }

  /** After a change made here: reload, and tell every other process to. */
  async changed(): Promise<void> {
    void this.changes.publish('upstreams');
    await this.reload();
  }

  /** True for an alias from WARDEN_REGISTRY_UPSTREAMS (read-only through the API). */
  isFromEnvironment(alias: string): boolean {
    return this.envAliases.has(alias);
  }

  get aliases(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * The alias of the upstream that policy names `registry` (`127.0.0.1:5000`, `docker.io`), so
   * a reference written the way policy sees it can be pulled from where it says it comes from.
   */
  aliasOf(registry: string): string | undefined {
    const host = registry.toLowerCase();
    const wanted = ['index.docker.io', 'registry-1.docker.io'].includes(host) ? 'docker.io' : host;
    for (const [alias, e] of this.entries) if (e.client.upstream.registry === wanted) return alias;
    return undefined;
  }

  /** The alias of the Docker Hub upstream, if one is configured: where bare names like `busybox` go. */
  get dockerHubAlias(): string | undefined {
    for (const [alias, e] of this.entries) if (e.client.upstream.dockerHub) return alias;
    return undefined;
  }

  resolve(name: string): UpstreamTarget {
    const slash = name.indexOf('/');
    const alias = slash < 0 ? name : name.slice(0, slash);
    const entry = this.entries.get(alias);
    const configured = this.aliases.length
      ? this.aliases.join(', ')
      : 'none (set WARDEN_REGISTRY_UPSTREAMS or add one with POST /registry/upstreams)';
    if (!entry)
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `repository ${name} is not served: names are <upstream>/<repository>, and there is no upstream '${alias}' (configured: ${configured})`,
        { name, upstreams: this.aliases },
      );
    if (slash < 0)
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `repository ${name} is not served: add the repository, as in ${alias}/<repository>`,
        { name },
      );
    if (entry.problem)
      throw new WardenError(
        'REGISTRY_UPSTREAM_UNAVAILABLE',
        `upstream '${alias}' cannot be used on this node: its stored credentials do not open here (an administrator must give every node the same key file; see docs/registry-proxy.md)`,
        { upstream: alias },
      );
    const client = entry.client;
    const upstream = client.upstream;
    let repository = name.slice(slash + 1);
    // Docker Hub keeps official images under library/ (distribution/reference normalize.go).
    if (upstream.dockerHub && !repository.includes('/')) repository = `library/${repository}`;
    return { upstream, client, name, repository, imageName: `${upstream.registry}/${repository}` };
  }

  private async load(): Promise<void> {
    const rows = await this.repo.list();
    const next = new Map<string, Entry>();
    for (const [alias, e] of this.entries) if (e.source === 'environment') next.set(alias, e);
    for (const row of rows) {
      if (this.envAliases.has(row.alias)) {
        if (!this.warned.has(row.alias))
          this.log.warn(
            `upstream '${row.alias}' is stored through the API but WARDEN_REGISTRY_UPSTREAMS defines it on this node; the environment's wins here`,
          );
        this.warned.add(row.alias);
        continue;
      }
      next.set(row.alias, await this.entryOf(row));
    }
    this.entries = next;
  }

  private async entryOf(row: StoredUpstream): Promise<Entry> {
    const version = `${row.updatedAt} ${row.baseUrl} ${row.sealedCredentials ?? ''}`;
    const prev = this.entries.get(row.alias);
    if (prev && prev.source === 'api' && prev.version === version && !prev.problem) return prev;
    const upstream: RegistryUpstream = {
      alias: row.alias,
      baseUrl: row.baseUrl,
      registry: row.registry,
      dockerHub: row.dockerHub,
    };
    let problem: string | undefined;
    if (row.sealedCredentials) {
      try {
        upstream.credentials = await this.credentials.open(row.alias, row.sealedCredentials);
      } catch (err) {
        problem = (err as Error).message;
        if (prev?.problem !== problem)
          this.log.error(`credentials of upstream '${row.alias}' do not open on this node: ${problem}`);
      }
    }
    return { client: new UpstreamClient(upstream), source: 'api', version, problem };
  }
}
