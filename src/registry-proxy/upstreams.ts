import { Inject, Injectable } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import type { RegistryUpstream } from '../platform/config';
import { WardenError } from '../platform/errors';
import { UpstreamClient } from './upstream/upstream-client';

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

/**
 * The configured upstreams, one client each (so tokens are cached per upstream). Names map
 * as `<alias>/<repository>` — see docs/registry-proxy.md.
 */
@Injectable()
export class Upstreams {
  private readonly clients = new Map<string, UpstreamClient>();

  constructor(@Inject(WARDEN_CONFIG) config: WardenConfig) {
    for (const u of config.registry.upstreams) this.clients.set(u.alias, new UpstreamClient(u));
  }

  get aliases(): string[] {
    return [...this.clients.keys()];
  }

  /**
   * The alias of the upstream that policy names `registry` (`127.0.0.1:5000`, `docker.io`), so
   * a reference written the way policy sees it can be pulled from where it says it comes from.
   */
  aliasOf(registry: string): string | undefined {
    const host = registry.toLowerCase();
    const wanted = ['index.docker.io', 'registry-1.docker.io'].includes(host) ? 'docker.io' : host;
    for (const [alias, c] of this.clients) if (c.upstream.registry === wanted) return alias;
    return undefined;
  }

  /** The alias of the Docker Hub upstream, if one is configured: where bare names like `busybox` go. */
  get dockerHubAlias(): string | undefined {
    for (const [alias, c] of this.clients) if (c.upstream.dockerHub) return alias;
    return undefined;
  }

  resolve(name: string): UpstreamTarget {
    const slash = name.indexOf('/');
    const alias = slash < 0 ? name : name.slice(0, slash);
    const client = this.clients.get(alias);
    const configured = this.aliases.length ? this.aliases.join(', ') : 'none (set WARDEN_REGISTRY_UPSTREAMS)';
    if (!client)
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `repository ${name} is not served: names are <upstream>/<repository>, and there is no upstream '${alias}' (configured: ${configured})`,
        { name, upstreams: this.aliases },
      );
    if (slash < 0)
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `repository ${name} is not served: add the repository, as in ${alias}/<repository>`,
        {
          name,
        },
      );
    const upstream = client.upstream;
    let repository = name.slice(slash + 1);
    // Docker Hub keeps official images under library/ (distribution/reference normalize.go).
    if (upstream.dockerHub && !repository.includes('/')) repository = `library/${repository}`;
    return { upstream, client, name, repository, imageName: `${upstream.registry}/${repository}` };
  }
}
