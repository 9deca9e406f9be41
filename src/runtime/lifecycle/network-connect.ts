import { Inject, Injectable } from '@nestjs/common';
import { NetworkAttacher, NetworkService, type Endpoint, type EndpointRequest } from '../../network';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import { PolicyService } from '../../policy';
import type { Caller } from '../../platform/http';
import { scopeOf } from '../../platform/scope';
import type { ContainerRecord } from '../container/container';
import { ContainerFiles } from '../container/container-files';
import { LiveContainers } from '../container/live-containers';
import { networked, networkOf } from '../container/run-config';
import { ContainerLocks } from './container-locks';
import { ContainerRefs } from './container-refs';

/**
 * `docker network connect|disconnect`, under the container's lock; a connect is the caller's
 * policy's to decide first (the same rules as the network a container is created on). A running (or paused)
 * container's namespace changes at once (the attacher runs netavark for that one network);
 * a stopped one's next start sets up every network it is on. One on network none or host has
 * no other (as Docker refuses it).
 */
@Injectable()
export class NetworkConnectVerb {
  constructor(
    private readonly refs: ContainerRefs,
    private readonly locks: ContainerLocks,
    private readonly live: LiveContainers,
    private readonly network: NetworkAttacher,
    private readonly networks: NetworkService,
    private readonly policy: PolicyService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  connect(caller: Caller, ref: string, network: string, req: EndpointRequest = {}): Promise<Endpoint> {
    return this.locked(caller, ref, async (c) => {
      // The policy names networks: an id (or its prefix) is judged as the name it stands for.
      const { name } = await this.networks.get(network, scopeOf(caller.principal));
      const decision = await this.policy.decideConnect(caller, {
        container: { id: c.id, name: c.name, spec: c.spec },
        network: name,
      });
      if (!decision.allowed)
        throw new WardenError('NETWORK_CONNECT_DENIED', decision.reasons.map((r) => r.message).join('; '), {
          policy: decision.policy,
          policyVersion: decision.policyVersion,
          reasons: decision.reasons,
        });
      return this.network.connect(caller, networked(c), network, req, this.files(c), livePid(c));
    });
  }

  disconnect(caller: Caller, ref: string, network: string): Promise<void> {
    return this.locked(caller, ref, (c) =>
      this.network.disconnect(caller, networked(c), network, this.files(c), livePid(c)),
    );
  }

  private files(c: ContainerRecord) {
    return new ContainerFiles(this.config.dataDir, c.id).network;
  }

  private async locked<T>(caller: Caller, ref: string, act: (c: ContainerRecord) => Promise<T>): Promise<T> {
    const seen = await this.refs.resolve(ref, scopeOf(caller.principal));
    return this.locks.run(seen.id, async (waited) => {
      const c = await this.refs.settled(waited ? await this.refs.current(seen) : seen, this.live);
      const mode = networked(c).networkMode;
      if (networkOf(c.spec) === 'host' || mode === 'none')
        throw new WardenError(
          'VALIDATION_FAILED',
          `container ${c.name} runs with network ${mode}, which has no other networks: create it on a bridge network`,
        );
      return act(c);
    });
  }
}

/** The init's pid while its namespace exists (running or paused): the one to change in place. */
function livePid(c: ContainerRecord): number | undefined {
  return (c.state === 'running' || c.state === 'paused') && c.pid ? c.pid : undefined;
}
