/**
 * `WWW-Authenticate` challenges as registries send them (RFC 7235 auth-params; the registry
 * token flow of the distribution spec's token.md):
 *
 *   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"
 *   Basic realm="Registry Realm"
 */
export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

const PARAM_RE = /\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;

/** The first Bearer or Basic challenge in the header; undefined when neither is offered. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(Bearer|Basic)\b/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  PARAM_RE.lastIndex = m[0].length;
  for (let p = PARAM_RE.exec(header); p; p = PARAM_RE.exec(header)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    if (PARAM_RE.lastIndex >= header.length) break;
  }
  return { scheme: m[1].toLowerCase() as Challenge['scheme'], params };
}

/** A challenge header value; quotes and backslashes escaped as RFC 7230 quoted-string wants. */
export function formatChallenge(scheme: 'Bearer' | 'Basic', params: Record<string, string>): string {
  const q = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;
  return `${scheme} ${Object.entries(params)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(',')}`;
}
