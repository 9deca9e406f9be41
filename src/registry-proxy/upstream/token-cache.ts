import type { RegistryUpstream } from '../../platform/config';
import { WardenError } from '../../platform/errors';
import { readBody, send } from './http-request';
import type { Challenge } from './www-authenticate';

/** distribution's token.md: a token without expires_in lives 60 seconds. */
const DEFAULT_TOKEN_LIFETIME_S = 60;
/** Renew a little early so a token does not expire between the check and its use upstream. */
const EXPIRY_MARGIN_MS = 5_000;

interface Token {
  value: string;
  expiresAt: number;
}

/**
 * Bearer tokens of one upstream, per (realm, service, scope), each kept until it expires.
 * Concurrent requests for one scope share a single token request.
 *
 *   client ── GET /v2/x/blobs/d ──▶ upstream           401 WWW-Authenticate: Bearer realm,service,scope
 *   client ── GET realm?service&scope (Basic creds) ──▶ token server   {token, expires_in}
 *   client ── GET /v2/x/blobs/d  Authorization: Bearer <token> ──▶ upstream   200
 */
export class TokenCache {
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<Token | undefined>>();

  constructor(
    private readonly upstream: RegistryUpstream,
    private readonly timeoutMs: number,
  ) {}

  async get(ch: Challenge, scope: string | undefined, renew: boolean): Promise<string | undefined> {
    const effectiveScope = scope ?? ch.params.scope ?? '';
    const key = `${ch.params.realm ?? ''} ${ch.params.service ?? ''} ${effectiveScope}`;
    const cached = this.tokens.get(key);
    if (cached && !renew && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return cached.value;
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetch(ch, effectiveScope).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const token = await p;
    if (token) this.tokens.set(key, token);
    return token?.value;
  }

  private async fetch(ch: Challenge, scope: string): Promise<Token | undefined> {
    const alias = this.upstream.alias;
    let realm: URL;
    try {
      realm = new URL(ch.params.realm ?? '');
    } catch {
      throw new WardenError(
        'REGISTRY_UPSTREAM_FAILED',
        `upstream '${alias}' sent a Bearer challenge without a usable realm`,
        {
          upstream: alias,
        },
      );
    }
    const insecure = this.upstream.baseUrl.startsWith('http:');
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && insecure))
      throw new WardenError(
        'REGISTRY_UPSTREAM_FAILED',
        `upstream '${alias}' named a token realm that is not https`,
        {
          upstream: alias,
        },
      );
    if (ch.params.service) realm.searchParams.set('service', ch.params.service);
    if (scope) realm.searchParams.set('scope', scope);
    const creds = this.upstream.credentials;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'warden-registry-proxy',
    };
    if (creds && 'username' in creds)
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const res = await send(realm, {
      method: 'GET',
      headers,
      timeoutMs: this.timeoutMs,
      allowInsecure: insecure,
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new WardenError(
        res.statusCode === 401 || res.statusCode === 403
          ? 'REGISTRY_NAME_UNKNOWN'
          : 'REGISTRY_UPSTREAM_FAILED',
        `upstream '${alias}' refused a pull token (${res.statusCode}) for ${scope || 'its API'}: check Warden's credentials for '${alias}'`,
        { upstream: alias, upstreamStatus: res.statusCode },
      );
    }
    const body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
      issued_at?: string;
    };
    const value = body.token ?? body.access_token;
    if (!value) return undefined;
    const lifetime = Number(body.expires_in) > 0 ? Number(body.expires_in) : DEFAULT_TOKEN_LIFETIME_S;
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    // Our clock, not the issuer's, unless the issuer's is earlier: a skewed issued_at in the
    // future must not stretch the token's life.
    const from = Number.isFinite(issued) ? Math.min(issued, Date.now()) : Date.now();
    return { value, expiresAt: from + lifetime * 1000 };
  }
}
