import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseRedisUrl, SENTINEL_SCHEMES } from '../queue';
import { defaultNodeName } from './node-name';

/**
 * Warden's configuration, read once from the environment at boot (STYLE habit 3: no other
 * file reads process.env). Every bad variable is reported together, so a user fixes them
 * in one pass instead of one restart per mistake.
 */
export interface WardenConfig {
  dataDir: string;
  http: { host: string; port: number; tls: HttpTlsConfig };
  /** The Docker API on TCP with mutual TLS (WARDEN_DOCKER_TCP), beside the unix socket. */
  dockerTcp?: DockerTcpConfig;
  dockerSocket: string;
  adminToken?: string;
  /** connectTimeoutMs: how long a new PostgreSQL connection may take (WARDEN_DB_CONNECT_TIMEOUT). */
  database: { url?: string; connectTimeoutMs: number };
  redis: { url?: string };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  audit: { batchSize: number; flushMs: number };
  /** BullMQ worker locks: how soon a killed worker's jobs run again (see platform/queue/worker-options.ts). */
  queue: { lockMs: number; stalledCheckMs: number };
  /**
   * `up`: the queue workers in a child `warden worker` process at a lower CPU priority
   * (`process`), or on the API's event loop (`inline`).
   */
  upWorkers: 'process' | 'inline';
  /** How long a stop (SIGTERM) may take before Warden exits anyway, even with a server down. */
  shutdownGraceMs: number;
  /** The settings this config was read from, data dir resolved: what a child Warden is given. */
  source: Readonly<Record<string, string>>;
  runtime: {
    node: string;
    cgroupParent: string;
    stopTimeoutSec: number;
    usageIntervalMs: number;
    /** How long a created container's prepared start waits for its start; 0 = never prepare. */
    preparedStartTtlMs: number;
    /** Containers keep running when Warden stops; the next start adopts them (live restore). */
    liveRestore: boolean;
    /** Idle formatted writable layers kept for reuse, all sizes together; 0: a filesystem per container. */
    layerPool: number;
    /** A container's log when neither its request nor its policy says: bytes per file, files kept. */
    logMaxBytes: number;
    logMaxFiles: number;
    /** A recorded exec session's transcript cap when its policy names none. */
    execRecordingMaxBytes: number;
    /** How long a transcript is kept after its last write; 0 = forever. */
    execTranscriptRetentionMs: number;
  };
  registry: RegistryConfig;
  network: NetworkConfig;
  fleet: FleetConfig;
  /** Kubernetes admission webhooks over HTTPS on their own port (issue 18); off unless set. */
  admission?: AdmissionConfig;
}

/** This node among several on one PostgreSQL and Redis (src/fleet, docs/fleet.md). */
export interface FleetConfig {
  /** Where other nodes and operators reach this node's API; unset = the URL it listens on. */
  address?: string;
  /** A node that has not heartbeaten for this long is down: its containers show `unknown`. */
  heartbeatTimeoutMs: number;
}

export interface AdmissionConfig {
  host: string;
  port: number;
  /** Given files, or a CA and serving certificate made under `<data dir>/admission-tls`. */
  tls: { mode: 'files'; cert: string; key: string } | { mode: 'generated'; serverNames: string[] };
  /** When set, only clients with a certificate this CA signed (the API server's) are served. */
  clientCa?: string;
}

/** Bridge networking (src/network): off unless enabled, since it changes the host's network. */
export interface NetworkConfig {
  /**
   * `bridge`: containers without --network join the default bridge network, as with Docker,
   * and user-defined networks can be created. `none` (the default): containers get loopback
   * only unless they ask for host; bridge networks are refused with a message.
   */
  mode: 'none' | 'bridge';
  /** The default bridge network's subnet (IPv4 CIDR). */
  bridgeSubnet: string;
  /** Where user-defined networks without --subnet get a /24 from. */
  pool: string;
  /** The netavark binary; aardvark-dns is found beside it. */
  netavark: string;
}

/** One upstream the /v2/ proxy pulls through: clients name it by alias (`<alias>/<repo>`). */
/**
 * The HTTP port's TLS: `files` when WARDEN_TLS_CERT/KEY are given; `auto` makes a self-signed
 * certificate under the data dir when bound beyond loopback (plain HTTP on loopback); `off`
 * serves plain HTTP anywhere (TLS terminated in front), where bearer tokens are still refused
 * from non-loopback peers.
 */
export type HttpTlsConfig = { mode: 'files'; cert: string; key: string } | { mode: 'auto' | 'off' };

export interface DockerTcpConfig {
  host: string;
  port: number;
  /** The CA that signed the clients' certificates: only they are admitted (dockerd --tlsverify). */
  ca: string;
  cert: string;
  key: string;
}

export interface RegistryUpstream {
  alias: string;
  /** scheme://host[:port], no credentials: safe to log, never shown to registry clients. */
  baseUrl: string;
  /** host[:port] as image references name it (`docker.io` for Docker Hub); what policy matches. */
  registry: string;
  /** Docker Hub's rule: a one-component name means `library/<name>`. */
  dockerHub: boolean;
  /** Basic user/password (also sent to a Bearer realm), or a token sent as `Bearer <token>` as it is. */
  credentials?: UpstreamCredentials;
}

export type UpstreamCredentials = { username: string; password: string } | { token: string };

export interface RegistryConfig {
  upstreams: RegistryUpstream[];
  /** How long a tag's digest is trusted before upstream is asked again (digests: forever). */
  tagTtlMs: number;
  /** How long a blob fetch may run on after every client went away before it is abandoned. */
  fillTimeoutMs: number;
  /** A pushed blob bigger than this goes up in PATCH chunks of this size, not one PUT. */
  pushChunkBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const portSchema = z.coerce
  .number({ message: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be 0..65535')
  .max(65535, 'must be 0..65535');

const urlWithScheme = (schemes: string[], example: string) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    {
      message: `must be a URL with scheme ${schemes.map((s) => s.replace(':', '')).join(' or ')} (e.g. ${example})`,
    },
  );

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `10m`, `512k`, `1g` or bytes, at least `min` bytes. */
function byteSize(min: number) {
  return z
    .string()
    .regex(/^\d+[kmg]?$/i, 'must be bytes or a size such as 10m')
    .transform((v) => Number(v.replace(/[kmg]$/i, '')) * UNITS[v.replace(/^\d+/, '').toLowerCase()])
    .refine((n) => n >= min && Number.isSafeInteger(n), `must be at least ${min} bytes`);
}

const DURATION_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `30m`, `45s` or plain seconds; `0` means forever. */
function duration() {
  return z
    .string()
    .regex(/^\d+[smhd]?$/i, 'must be a duration such as 90d, 12h or 30m (0: keep forever)')
    .transform(
      (v) => Number(v.replace(/[smhd]$/i, '')) * DURATION_MS[v.replace(/^\d+/, '').toLowerCase() || 's'],
    )
    .refine((n) => Number.isSafeInteger(n), 'is too long');
}

const readableFile = z.string().refine((v) => {
  try {
    fs.accessSync(v, fs.constants.R_OK);
    return fs.statSync(v).isFile();
  } catch {
    return false;
  }
}, 'must be a readable file');
/** An IPv4 network in CIDR form whose prefix is within [min, max] and whose host bits are zero. */
function ipv4Cidr(min: number, max: number) {
  return z.string().refine((v) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    if (!m) return false;
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix < min || prefix > max) return false;
    const n = octets.reduce((a, o) => a * 256 + o, 0);
    return n % 2 ** (32 - prefix) === 0;
  }, `must be an IPv4 network a.b.c.d/n with n between ${min} and ${max} and no host bits set`);
}

const nodeName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be a host-name-like node name');

const envSchema = z.object({
  WARDEN_DATA_DIR: z.string().min(1, 'must not be empty').optional(),
  WARDEN_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { message: 'must be an IP address or localhost' })
    .optional(),
  WARDEN_PORT: portSchema.optional(),
  WARDEN_DOCKER_SOCKET: z
    .string()
    .refine((v) => Buffer.byteLength(v) < 108, 'must be shorter than 108 bytes (unix socket path limit)')
    .optional(),
  WARDEN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters (it grants admin)').optional(),
  DATABASE_URL: urlWithScheme(
    ['postgres:', 'postgresql:'],
    'postgres://user:pass@host:5432/warden',
  ).optional(),
  WARDEN_DB_CONNECT_TIMEOUT: z.coerce.number().min(0.1).max(600).optional(),
  REDIS_URL: z
    .string()
    .superRefine((v, ctx) => {
      const sentinel = SENTINEL_SCHEMES.some((s) => v.startsWith(`${s}//`));
      try {
        if (sentinel || ['redis:', 'rediss:', 'unix:'].includes(new URL(v).protocol)) {
          parseRedisUrl(v);
          return;
        }
      } catch (err) {
        if (sentinel) return void ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a URL with scheme redis, rediss, unix or redis-sentinel (e.g. redis://127.0.0.1:6379/0, unix:///run/redis.sock or redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster)',
      });
    })
    .optional(),
  WARDEN_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  WARDEN_AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(10000).optional(),
  WARDEN_AUDIT_FLUSH_MS: z.coerce.number().int().min(0).max(60000).optional(),
  WARDEN_QUEUE_LOCK_MS: z.coerce.number().int().min(1000).max(600000).optional(),
  WARDEN_QUEUE_STALLED_CHECK_MS: z.coerce.number().int().min(500).max(600000).optional(),
  WARDEN_NODE_NAME: nodeName.optional(),
  // The name's older spelling, still read (WARDEN_NODE_NAME wins when both are set).
  WARDEN_NODE: nodeName.optional(),
  WARDEN_NODE_ADDRESS: z.string().min(1).max(255).optional(),
  WARDEN_NODE_HEARTBEAT_TIMEOUT: z.coerce.number().min(1).max(600).optional(),
  WARDEN_CGROUP_PARENT: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'must be one cgroup directory name (no slashes)')
    .optional(),
  WARDEN_STOP_TIMEOUT: z.coerce.number().int().min(0).max(3600).optional(),
  WARDEN_USAGE_INTERVAL: z.coerce.number().min(1).max(3600).optional(),
  WARDEN_PREPARED_START_TTL: z.coerce.number().min(0).max(3600).optional(),
  WARDEN_UP_WORKERS: z.enum(['process', 'inline']).optional(),
  WARDEN_LIVE_RESTORE: z.enum(['true', 'false']).optional(),
  WARDEN_LAYER_POOL: z.coerce.number().int().min(0).max(256).optional(),
  WARDEN_LOG_MAX_SIZE: byteSize(1024).optional(),
  WARDEN_LOG_MAX_FILES: z.coerce.number().int().min(1).max(100).optional(),
  WARDEN_EXEC_RECORDING_MAX_SIZE: byteSize(1024).optional(),
  WARDEN_EXEC_TRANSCRIPT_RETENTION: duration().optional(),
  WARDEN_SHUTDOWN_GRACE: z.coerce.number().min(1).max(3600).optional(),
  WARDEN_REGISTRY_UPSTREAMS: z.string().superRefine(checkUpstreams).optional(),
  WARDEN_REGISTRY_TAG_TTL: z.coerce.number().int().min(0).max(86400).optional(),
  WARDEN_REGISTRY_FILL_TIMEOUT: z.coerce.number().int().min(1).max(86400).optional(),
  WARDEN_REGISTRY_PUSH_CHUNK_SIZE: byteSize(64 * 1024).optional(),
  WARDEN_TLS: z.enum(['auto', 'off']).optional(),
  WARDEN_TLS_CERT: readableFile.optional(),
  WARDEN_TLS_KEY: readableFile.optional(),
  WARDEN_DOCKER_TCP: z
    .string()
    .regex(/^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):\d{1,5}$/, 'must be host:port (e.g. 127.0.0.1:2376)')
    .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535')
    .optional(),
  WARDEN_DOCKER_TLS_CA: readableFile.optional(),
  WARDEN_DOCKER_TLS_CERT: readableFile.optional(),
  WARDEN_DOCKER_TLS_KEY: readableFile.optional(),
  WARDEN_NETWORKING: z.enum(['none', 'bridge']).optional(),
  WARDEN_BRIDGE_SUBNET: ipv4Cidr(16, 28).optional(),
  WARDEN_NETWORK_POOL: ipv4Cidr(8, 24).optional(),
  WARDEN_NETAVARK: z
    .string()
    .refine((v) => path.isAbsolute(v), 'must be an absolute path')
    .optional(),
  WARDEN_ADMISSION_PORT: portSchema.optional(),
  WARDEN_ADMISSION_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { message: 'must be an IP address or localhost' })
    .optional(),
  WARDEN_ADMISSION_TLS_CERT: readableFile.optional(),
  WARDEN_ADMISSION_TLS_KEY: readableFile.optional(),
  WARDEN_ADMISSION_SERVER_NAMES: z
    .string()
    .regex(
      /^[A-Za-z0-9.:*-]+(,[A-Za-z0-9.:*-]+)*$/,
      'must be comma-separated DNS names or IP addresses (e.g. warden-admission.warden-system.svc)',
    )
    .optional(),
  WARDEN_ADMISSION_CLIENT_CA: readableFile.optional(),
});

/** Settings that only make sense together, each problem named (docs/security.md, transport). */
function pairings(e: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (!!e.WARDEN_TLS_CERT !== !!e.WARDEN_TLS_KEY)
    problems.push('WARDEN_TLS_CERT and WARDEN_TLS_KEY must be given together');
  if (e.WARDEN_TLS === 'off' && e.WARDEN_TLS_CERT)
    problems.push('WARDEN_TLS=off contradicts WARDEN_TLS_CERT/WARDEN_TLS_KEY: drop one');
  const tcp = ['WARDEN_DOCKER_TLS_CA', 'WARDEN_DOCKER_TLS_CERT', 'WARDEN_DOCKER_TLS_KEY'] as const;
  const missing = tcp.filter((k) => !e[k]);
  if (e.WARDEN_DOCKER_TCP && missing.length)
    problems.push(
      `WARDEN_DOCKER_TCP serves the Docker API with mutual TLS only: set ${missing.join(', ')} (the CA that signs client certificates, the server's certificate and key)`,
    );
  if (!!e.WARDEN_ADMISSION_TLS_CERT !== !!e.WARDEN_ADMISSION_TLS_KEY)
    problems.push('WARDEN_ADMISSION_TLS_CERT and WARDEN_ADMISSION_TLS_KEY must be given together');
  const admission = [
    'WARDEN_ADMISSION_HOST',
    'WARDEN_ADMISSION_TLS_CERT',
    'WARDEN_ADMISSION_TLS_KEY',
    'WARDEN_ADMISSION_SERVER_NAMES',
    'WARDEN_ADMISSION_CLIENT_CA',
  ] as const;
  if (e.WARDEN_ADMISSION_PORT === undefined && admission.some((k) => e[k]))
    problems.push(
      `${admission.filter((k) => e[k]).join(', ')} given without WARDEN_ADMISSION_PORT (the admission webhooks are off)`,
    );
  if (!e.WARDEN_DOCKER_TCP && missing.length < tcp.length)
    problems.push(`${tcp.filter((k) => e[k]).join(', ')} given without WARDEN_DOCKER_TCP`);
  return problems;
}

function splitHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(v.slice(i + 1)) };
}

// Docker Hub's API host; images name it docker.io (distribution/reference normalize.go).
const DOCKER_HUB_API_HOSTS = ['registry-1.docker.io', 'index.docker.io', 'docker.io'];
export const UPSTREAM_ALIAS_RE = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;

/**
 * One upstream from `alias` and a URL: `https://`, or `http+insecure://` — plain http only when
 * marked, so a typo cannot silently send credentials in clear. Credentials may ride in the
 * URL's user info. Problems never quote the URL (it may hold a password). Shared by
 * WARDEN_REGISTRY_UPSTREAMS and the admin API (/registry/upstreams), so both accept the same.
 */
export function parseUpstreamUrl(alias: string, text: string): RegistryUpstream | { problem: string } {
  if (!UPSTREAM_ALIAS_RE.test(alias))
    return { problem: `alias must be lowercase letters and digits, optionally joined by - or _ (e.g. hub)` };
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { problem: `'${alias}' is not a URL` };
  }
  const scheme = url.protocol === 'https:' ? 'https' : url.protocol === 'http+insecure:' ? 'http' : undefined;
  if (!scheme)
    return { problem: `'${alias}' must use https:// (or http+insecure:// for a plain-http registry)` };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    return { problem: `'${alias}' must be scheme://host[:port] with no path` };
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const dockerHub = DOCKER_HUB_API_HOSTS.includes(url.hostname) && !url.port;
  return {
    alias,
    baseUrl: `${scheme}://${host}`,
    registry: dockerHub ? 'docker.io' : host.toLowerCase(),
    dockerHub,
    credentials: url.username
      ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : undefined,
  };
}

/** `alias=URL,alias=URL`, each as parseUpstreamUrl reads it. */
function parseUpstreams(raw: string): { upstreams: RegistryUpstream[]; problems: string[] } {
  const upstreams: RegistryUpstream[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const item of raw
    .split(',')
    .map((i) => i.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const alias = eq < 0 ? '' : item.slice(0, eq).trim();
    if (!UPSTREAM_ALIAS_RE.test(alias)) {
      problems.push(
        `entry ${upstreams.length + problems.length + 1} needs alias=URL with a lowercase alias (e.g. hub=https://registry-1.docker.io)`,
      );
      continue;
    }
    if (seen.has(alias)) {
      problems.push(`alias '${alias}' appears twice`);
      continue;
    }
    seen.add(alias);
    const parsed = parseUpstreamUrl(alias, item.slice(eq + 1));
    if ('problem' in parsed) problems.push(parsed.problem);
    else upstreams.push(parsed);
  }
  return { upstreams, problems };
}

function checkUpstreams(raw: string, ctx: z.RefinementCtx): void {
  for (const p of parseUpstreams(raw).problems) ctx.addIssue({ code: 'custom', message: p });
}

/** Empty strings count as unset, as most shells and compose files produce them for "no value". */
function present(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/**
 * The environment for a child Warden process (`up`'s worker): this process's environment
 * without any Warden setting, plus the settings this config was read from, so the child reads
 * the same configuration even when the parent's came from elsewhere than its environment.
 */
export function childEnvironment(config: WardenConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(envSchema.shape)) delete env[key];
  return { ...env, ...config.source };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): WardenConfig {
  const parsed = envSchema.safeParse(present(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        const shown =
          key === 'WARDEN_ADMIN_TOKEN' ||
          key === 'DATABASE_URL' ||
          key === 'REDIS_URL' ||
          key === 'WARDEN_REGISTRY_UPSTREAMS'
            ? ''
            : ` (got '${env[key]}')`;
        return `${key} ${i.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const unpaired = pairings(e);
  if (unpaired.length) throw new ConfigError(unpaired);
  const dataDir = path.resolve(cwd, e.WARDEN_DATA_DIR ?? 'var');
  return {
    dataDir,
    http: {
      host: e.WARDEN_HOST ?? '127.0.0.1',
      port: e.WARDEN_PORT ?? 8484,
      tls:
        e.WARDEN_TLS_CERT && e.WARDEN_TLS_KEY
          ? {
              mode: 'files',
              cert: path.resolve(cwd, e.WARDEN_TLS_CERT),
              key: path.resolve(cwd, e.WARDEN_TLS_KEY),
            }
          : { mode: e.WARDEN_TLS ?? 'auto' },
    },
    dockerTcp:
      e.WARDEN_DOCKER_TCP && e.WARDEN_DOCKER_TLS_CA && e.WARDEN_DOCKER_TLS_CERT && e.WARDEN_DOCKER_TLS_KEY
        ? {
            ...splitHostPort(e.WARDEN_DOCKER_TCP),
            ca: path.resolve(cwd, e.WARDEN_DOCKER_TLS_CA),
            cert: path.resolve(cwd, e.WARDEN_DOCKER_TLS_CERT),
            key: path.resolve(cwd, e.WARDEN_DOCKER_TLS_KEY),
          }
        : undefined,
    dockerSocket: path.resolve(cwd, e.WARDEN_DOCKER_SOCKET ?? path.join(dataDir, 'docker.sock')),
    adminToken: e.WARDEN_ADMIN_TOKEN,
    database: {
      url: e.DATABASE_URL,
      connectTimeoutMs: Math.round((e.WARDEN_DB_CONNECT_TIMEOUT ?? 1) * 1000),
    },
    redis: { url: e.REDIS_URL },
    log: { level: e.WARDEN_LOG_LEVEL ?? 'info' },
    audit: { batchSize: e.WARDEN_AUDIT_BATCH_SIZE ?? 500, flushMs: e.WARDEN_AUDIT_FLUSH_MS ?? 5 },
    // Shorter than BullMQ's 30 s + 30 s: a re-run job costs nothing (ids are deduplicated in
    // SQL), while a long lock keeps a dead worker's events out of the trail for a minute.
    queue: {
      lockMs: e.WARDEN_QUEUE_LOCK_MS ?? 10000,
      stalledCheckMs: e.WARDEN_QUEUE_STALLED_CHECK_MS ?? 5000,
    },
    upWorkers: e.WARDEN_UP_WORKERS ?? 'process',
    shutdownGraceMs: (e.WARDEN_SHUTDOWN_GRACE ?? 20) * 1000,
    source: { ...present(env), WARDEN_DATA_DIR: dataDir },
    runtime: {
      node: e.WARDEN_NODE_NAME ?? e.WARDEN_NODE ?? defaultNodeName(dataDir),
      cgroupParent: e.WARDEN_CGROUP_PARENT ?? 'warden',
      stopTimeoutSec: e.WARDEN_STOP_TIMEOUT ?? 10,
      usageIntervalMs: (e.WARDEN_USAGE_INTERVAL ?? 10) * 1000,
      preparedStartTtlMs: (e.WARDEN_PREPARED_START_TTL ?? 30) * 1000,
      liveRestore: e.WARDEN_LIVE_RESTORE !== 'false',
      layerPool: e.WARDEN_LAYER_POOL ?? 4,
      logMaxBytes: e.WARDEN_LOG_MAX_SIZE ?? 10 * 1024 ** 2,
      logMaxFiles: e.WARDEN_LOG_MAX_FILES ?? 3,
      execRecordingMaxBytes: e.WARDEN_EXEC_RECORDING_MAX_SIZE ?? 1024 ** 2,
      execTranscriptRetentionMs: e.WARDEN_EXEC_TRANSCRIPT_RETENTION ?? 90 * 86_400_000,
    },
    registry: {
      upstreams: parseUpstreams(e.WARDEN_REGISTRY_UPSTREAMS ?? '').upstreams,
      tagTtlMs: (e.WARDEN_REGISTRY_TAG_TTL ?? 60) * 1000,
      fillTimeoutMs: (e.WARDEN_REGISTRY_FILL_TIMEOUT ?? 600) * 1000,
      pushChunkBytes: e.WARDEN_REGISTRY_PUSH_CHUNK_SIZE ?? 64 * 1024 ** 2,
    },
    fleet: {
      address: e.WARDEN_NODE_ADDRESS,
      heartbeatTimeoutMs: Math.round((e.WARDEN_NODE_HEARTBEAT_TIMEOUT ?? 5) * 1000),
    },
    // Outside Docker's 172.17.0.0/16 (and its 172.18+ pool) and Podman's 10.88.0.0/16, so
    // Warden's bridge can sit beside either engine on one host.
    network: {
      mode: e.WARDEN_NETWORKING ?? 'none',
      bridgeSubnet: e.WARDEN_BRIDGE_SUBNET ?? '10.231.0.0/16',
      pool: e.WARDEN_NETWORK_POOL ?? '10.232.0.0/16',
      netavark: e.WARDEN_NETAVARK ?? '/usr/lib/podman/netavark',
    },
    admission: admissionConfig(e, cwd),
  };
}

/** The webhooks answer the API server, which is elsewhere: every address unless told. */
function admissionConfig(e: z.infer<typeof envSchema>, cwd: string): AdmissionConfig | undefined {
  if (e.WARDEN_ADMISSION_PORT === undefined) return undefined;
  return {
    host: e.WARDEN_ADMISSION_HOST ?? '0.0.0.0',
    port: e.WARDEN_ADMISSION_PORT,
    tls:
      e.WARDEN_ADMISSION_TLS_CERT && e.WARDEN_ADMISSION_TLS_KEY
        ? {
            mode: 'files',
            cert: path.resolve(cwd, e.WARDEN_ADMISSION_TLS_CERT),
            key: path.resolve(cwd, e.WARDEN_ADMISSION_TLS_KEY),
          }
        : {
            mode: 'generated',
            serverNames: (e.WARDEN_ADMISSION_SERVER_NAMES ?? 'warden-admission.warden-system.svc').split(','),
          },
    ...(e.WARDEN_ADMISSION_CLIENT_CA ? { clientCa: path.resolve(cwd, e.WARDEN_ADMISSION_CLIENT_CA) } : {}),
  };
}
