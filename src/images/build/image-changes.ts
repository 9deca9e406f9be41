import { WardenError } from '../../platform/errors';

/**
 * `--change` for `docker import` and `docker commit`: Dockerfile instructions applied to an
 * image config's `config` object. Docker takes CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
 * USER, VOLUME, WORKDIR and STOPSIGNAL there (builder/dockerfile's allowed commit commands);
 * anything else is refused, naming the instruction.
 */
export type ContainerConfig = Record<string, unknown> & {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  OnBuild?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
};

const invalid = (change: string, why: string) =>
  new WardenError('VALIDATION_FAILED', `invalid --change "${change}": ${why}`, { change });

/** `["a", "b"]` as a list, or undefined when the text is not a JSON array of strings. */
function jsonList(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // not JSON: the shell form
  }
  return undefined;
}

/** Words with Dockerfile quoting: `"a b"` and `'a b'` are one word, `\` escapes the next character. */
function words(text: string, change: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length && quote !== "'") {
      cur += text[++i];
      inWord = true;
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw invalid(change, `unterminated ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}

/** `k=v k2="v 2"`, or the old one-pair form `k v w` (ENV and LABEL both take either). */
function pairs(rest: string, change: string): Array<[string, string]> {
  const w = words(rest, change);
  if (w.length === 0) throw invalid(change, 'needs at least one key=value');
  if (!w[0].includes('=')) {
    const [key, ...value] = rest.trim().split(/\s+/);
    if (value.length === 0) throw invalid(change, `"${key}" has no value`);
    return [[key, rest.trim().slice(key.length).trim()]];
  }
  return w.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw invalid(change, `"${kv}" is not key=value`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

const shellForm = (rest: string) => jsonList(rest) ?? ['/bin/sh', '-c', rest];

/** Applies each change in order to a copy of `config`. */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const c: ContainerConfig = { ...config };
  for (const raw of changes) {
    const change = raw.trim();
    if (change === '') continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(change)!;
    const instruction = m[1].toUpperCase();
    const rest = m[2].trim();
    if (rest === '') throw invalid(change, `${instruction} needs an argument`);
    switch (instruction) {
      case 'CMD':
        c.Cmd = shellForm(rest);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = shellForm(rest);
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairs(rest, change)) {
          const at = env.findIndex((e) => e.split('=', 1)[0] === k);
          if (at >= 0) env[at] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(rest, change)) };
        break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(rest, change)) {
          const pm = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!pm) throw invalid(change, `"${p}" is not a port such as 80 or 53/udp`);
          ports[`${pm[1]}${pm[2] ? `-${pm[2]}` : ''}/${(pm[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const paths = jsonList(rest) ?? words(rest, change);
        const volumes = { ...(c.Volumes ?? {}) };
        for (const p of paths) {
          if (!p.startsWith('/')) throw invalid(change, `volume path "${p}" is not absolute`);
          volumes[p] = {};
        }
        c.Volumes = volumes;
        break;
      }
      case 'WORKDIR':
        c.WorkingDir = rest.startsWith('/') ? rest : `${(c.WorkingDir || '/').replace(/\/$/, '')}/${rest}`;
        break;
      case 'USER':
        c.User = rest;
        break;
      case 'STOPSIGNAL':
        c.StopSignal = rest;
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), rest];
        break;
      default:
        throw invalid(
          change,
          `${instruction} cannot be changed here (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL can)`,
        );
    }
  }
  return c;
}
