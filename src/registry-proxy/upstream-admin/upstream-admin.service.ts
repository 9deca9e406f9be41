import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit';
import type { AuditEventType } from '../../audit';
import { parseUpstreamUrl, WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import type { RegistryUpstream, UpstreamCredentials } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { Upstreams } from '../upstreams';
import { CredentialKind, RegistryUpstreamRepository, StoredUpstream } from './registry-upstream.repository';
import { UpstreamCredentialsBox } from './upstream-credentials';
import type { CreateUpstreamBody, UpdateUpstreamBody } from './upstream.schemas';

/** An upstream as the API shows it: never a secret, only whether there is one and of which kind. */
export interface UpstreamView {
  alias: string;
  /** scheme://host[:port]; `http://` only for an upstream marked insecure. */
  url: string;
  insecure: boolean;
  /** The name policy matches and images are recorded under (`docker.io` for Docker Hub). */
  registry: string;
  dockerHub: boolean;
  source: 'environment' | 'api';
  hasCredentials: boolean;
  credentialKind?: CredentialKind;
  createdAt?: string;
  createdBy?: string;
  updatedAt?: string;
  updatedBy?: string;
}

const ENV = 'WARDEN_REGISTRY_UPSTREAMS';

const invalid = (problem: string, field = 'url') =>
  new WardenError('VALIDATION_FAILED', `invalid body: body.${field}: ${problem}`, {
    problems: [`body.${field}: ${problem}`],
  });

/**
 * The URL and insecure marker as the environment syntax spells them (`http+insecure://`), then
 * parsed by the same code as WARDEN_REGISTRY_UPSTREAMS, so both accept exactly the same.
 */
function parseTarget(alias: string, url: string, insecure: boolean | undefined): RegistryUpstream {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1].toLowerCase();
  let spelled = url.trim();
  if (scheme === 'http') {
    if (insecure !== true)
      throw invalid(
        'plain http is refused unless marked: set "insecure": true (images and credentials then travel unencrypted), or use https://',
      );
    spelled = `http+insecure${spelled.slice(4)}`;
  } else if (scheme === 'http+insecure' && insecure === false) {
    throw invalid('http+insecure:// contradicts "insecure": false');
  } else if (scheme === 'https' && insecure === true) {
    throw invalid('"insecure" applies only to plain-http upstreams; https upstreams are always verified');
  }
  const parsed = parseUpstreamUrl(alias, spelled);
  if ('problem' in parsed) throw invalid(parsed.problem);
  return parsed;
}

/**
 * Upstreams through the admin API (issue 5): validated like the environment's, stored with
 * sealed credentials, audited, and live at once in this process (the others within
 * UPSTREAM_RELOAD_MS). Upstreams from WARDEN_REGISTRY_UPSTREAMS are shown, never changed.
 */
@Injectable()
export class UpstreamAdminService {
  private readonly log = new Logger('registry');

  constructor(
    private readonly repo: RegistryUpstreamRepository,
    private readonly box: UpstreamCredentialsBox,
    private readonly upstreams: Upstreams,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async list(): Promise<UpstreamView[]> {
    const env = this.config.registry.upstreams.map(envView);
    const stored = (await this.repo.list()).filter((r) => !this.upstreams.isFromEnvironment(r.alias));
    return [...env, ...stored.map(storedView)];
  }

  async get(alias: string): Promise<UpstreamView> {
    const env = this.config.registry.upstreams.find((u) => u.alias === alias);
    if (env) return envView(env);
    const row = await this.repo.find(alias);
    if (!row) throw notFound(alias);
    return storedView(row);
  }

  async create(by: Caller, body: CreateUpstreamBody): Promise<UpstreamView> {
    if (this.upstreams.isFromEnvironment(body.alias))
      throw new WardenError(
        'REGISTRY_UPSTREAM_EXISTS',
        `upstream '${body.alias}' already exists: it comes from ${ENV} on this node; choose another alias`,
        { alias: body.alias, source: 'environment' },
      );
    const target = parseTarget(body.alias, body.url, body.insecure);
    const creds = await this.sealed(body.alias, target, body.credentials);
    const row = await this.repo.insert(body.alias, { ...fieldsOf(target), ...creds }, by.principal.id);
    if (!row)
      throw new WardenError(
        'REGISTRY_UPSTREAM_EXISTS',
        `upstream '${body.alias}' already exists: change it with PUT /registry/upstreams/${body.alias}`,
        { alias: body.alias, source: 'api' },
      );
    return this.changed(by, 'registry.upstream.created', row);
  }

  async update(by: Caller, alias: string, body: UpdateUpstreamBody): Promise<UpstreamView> {
    this.refuseEnvironment(alias);
    if (body.alias !== undefined && body.alias !== alias)
      throw invalid(
        `'${body.alias}' differs from the alias in the path ('${alias}'); aliases cannot be renamed`,
        'alias',
      );
    const target = parseTarget(alias, body.url, body.insecure);
    // No `credentials` keeps the stored ones, unless the URL brings its own (which replace them).
    const keep = body.credentials === undefined && !target.credentials;
    const creds = await this.sealed(alias, target, body.credentials ?? undefined);
    const res = await this.repo.update(alias, { ...fieldsOf(target), ...creds }, by.principal.id, keep);
    if (!res) throw notFound(alias);
    return this.changed(by, 'registry.upstream.updated', res.after, res.before);
  }

  async remove(by: Caller, alias: string): Promise<UpstreamView> {
    this.refuseEnvironment(alias);
    const row = await this.repo.remove(alias);
    if (!row) throw notFound(alias);
    return this.changed(by, 'registry.upstream.removed', row);
  }

  private refuseEnvironment(alias: string): void {
    if (this.upstreams.isFromEnvironment(alias))
      throw new WardenError(
        'REGISTRY_UPSTREAM_READ_ONLY',
        `upstream '${alias}' comes from ${ENV} and cannot be changed through the API: edit the variable and restart Warden`,
        { alias, source: 'environment' },
      );
  }

  private async sealed(
    alias: string,
    target: RegistryUpstream,
    given: UpstreamCredentials | undefined,
  ): Promise<{ credentialKind: CredentialKind | null; sealedCredentials: string | null }> {
    if (given && target.credentials)
      throw invalid('credentials are given both in the URL and in "credentials"; give them once');
    const creds = given ?? target.credentials;
    if (!creds) return { credentialKind: null, sealedCredentials: null };
    const { kind, sealed } = await this.box.seal(alias, creds);
    return { credentialKind: kind, sealedCredentials: sealed };
  }

  /**
   * Reload first, so the caller's next pull already sees the change; a failed reload does not
   * fail the request (the change is stored, and the periodic re-read brings it), and the
   * audit event is recorded either way.
   */
  private async changed(
    by: Caller,
    type: AuditEventType,
    row: StoredUpstream,
    before?: StoredUpstream,
  ): Promise<UpstreamView> {
    await this.upstreams
      .changed()
      .catch((err: unknown) => this.log.warn({ err }, `upstream '${row.alias}' changed; reload deferred`));
    const view = storedView(row);
    await this.audit.record({
      type,
      principal: by.principal.id,
      source: by.source,
      subject: row.alias,
      payload: { ...auditable(view), ...(before ? { previous: auditable(storedView(before)) } : {}) },
    });
    return view;
  }
}

function fieldsOf(u: RegistryUpstream) {
  return { baseUrl: u.baseUrl, registry: u.registry, dockerHub: u.dockerHub };
}

function envView(u: RegistryUpstream): UpstreamView {
  return {
    alias: u.alias,
    url: u.baseUrl,
    insecure: u.baseUrl.startsWith('http:'),
    registry: u.registry,
    dockerHub: u.dockerHub,
    source: 'environment',
    hasCredentials: u.credentials !== undefined,
    ...(u.credentials ? { credentialKind: 'token' in u.credentials ? 'token' : 'basic' } : {}),
  };
}

function storedView(r: StoredUpstream): UpstreamView {
  return {
    alias: r.alias,
    url: r.baseUrl,
    insecure: r.baseUrl.startsWith('http:'),
    registry: r.registry,
    dockerHub: r.dockerHub,
    source: 'api',
    hasCredentials: r.credentialKind !== null,
    ...(r.credentialKind ? { credentialKind: r.credentialKind } : {}),
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    updatedAt: r.updatedAt,
    updatedBy: r.updatedBy,
  };
}

/** What an audit event keeps of an upstream: its definition, no timestamps, no secrets. */
function auditable(v: UpstreamView) {
  return {
    alias: v.alias,
    url: v.url,
    insecure: v.insecure,
    registry: v.registry,
    dockerHub: v.dockerHub,
    hasCredentials: v.hasCredentials,
    credentialKind: v.credentialKind ?? null,
  };
}

function notFound(alias: string): WardenError {
  return new WardenError(
    'REGISTRY_UPSTREAM_NOT_FOUND',
    `no upstream '${alias}': list them with GET /registry/upstreams`,
    { alias },
  );
}
