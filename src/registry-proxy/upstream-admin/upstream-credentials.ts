import { Inject, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { UpstreamCredentials } from '../../platform/config';
import { SecretBox } from '../../platform/secrets';
import type { CredentialKind } from './registry-upstream.repository';

/** Where the key lives, relative to WARDEN_DATA_DIR (docs/registry-proxy.md names it). */
export const UPSTREAM_KEY_FILE = join('secrets', 'registry-upstreams.key');

/**
 * Upstream credentials sealed for the database and opened for use. The alias is bound into
 * the seal, so credentials moved to another upstream's row do not open there.
 */
@Injectable()
export class UpstreamCredentialsBox {
  private readonly box: SecretBox;

  constructor(@Inject(WARDEN_CONFIG) config: WardenConfig) {
    this.box = new SecretBox(join(config.dataDir, UPSTREAM_KEY_FILE));
  }

  get keyFile(): string {
    return this.box.keyFile;
  }

  async seal(alias: string, creds: UpstreamCredentials): Promise<{ kind: CredentialKind; sealed: string }> {
    return {
      kind: 'token' in creds ? 'token' : 'basic',
      sealed: await this.box.seal(JSON.stringify(creds), alias),
    };
  }

  async open(alias: string, sealed: string): Promise<UpstreamCredentials> {
    return JSON.parse(await this.box.open(sealed, alias)) as UpstreamCredentials;
  }
}
