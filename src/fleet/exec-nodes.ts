import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { LazyRedis } from './lazy-redis';

const KEY_PREFIX = 'warden:exec:';
/**
 * Docker keeps an exec instance until its container goes; the node that runs it keeps the last
 * thousand (docker-api/exec.controller.ts). A day bounds the record of one long forgotten.
 */
const EXEC_TTL_S = 86_400;

/**
 * Which node holds an exec instance. `docker exec` is three requests (create, start, inspect)
 * that may each reach another API node; the instance itself lives in the memory of the node
 * that runs its container (only that node can start it), so that node records the exec's id
 * here when it creates it, and any node can tell where to forward the others.
 */
@Injectable()
export class ExecNodes implements OnApplicationShutdown {
  private readonly redis: LazyRedis;

  constructor(
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {
    this.redis = new LazyRedis(infra, 'exec placement');
  }

  /** This node holds the exec instance `execId` (it runs its container). */
  async record(execId: string): Promise<void> {
    await this.redis.client().set(KEY_PREFIX + execId, this.config.runtime.node, 'EX', EXEC_TTL_S);
  }

  /** The other node that holds it; undefined when it is this one's or nobody's (unknown, forgotten). */
  async elsewhere(execId: string): Promise<string | undefined> {
    const node = await this.redis.client().get(KEY_PREFIX + execId);
    return node && node !== this.config.runtime.node ? node : undefined;
  }

  onApplicationShutdown(): void {
    this.redis.close();
  }
}
