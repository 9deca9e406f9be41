import * as path from 'node:path';
import { z } from 'zod';

/**
 * Warden's configuration, read once from the environment at boot (STYLE habit 3: no other
 * file reads process.env). Every bad variable is reported together, so a user fixes them
 * in one pass instead of one restart per mistake.
 */
export interface WardenConfig {
  dataDir: string;
  http: { host: string; port: number };
  dockerSocket: string;
  adminToken?: string;
  database: { url?: string };
  redis: { url?: string };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  audit: { batchSize: number; flushMs: number };
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
  REDIS_URL: urlWithScheme(
    ['redis:', 'rediss:', 'unix:'],
    'redis://127.0.0.1:6379/0 or unix:///run/redis.sock',
  ).optional(),
  WARDEN_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  WARDEN_AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(10000).optional(),
  WARDEN_AUDIT_FLUSH_MS: z.coerce.number().int().min(0).max(60000).optional(),
});

/** Empty strings count as unset, as most shells and compose files produce them for "no value". */
function present(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): WardenConfig {
  const parsed = envSchema.safeParse(present(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        const shown =
          key === 'WARDEN_ADMIN_TOKEN' || key === 'DATABASE_URL' || key === 'REDIS_URL'
            ? ''
            : ` (got '${env[key]}')`;
        return `${key} ${i.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.WARDEN_DATA_DIR ?? 'var');
  return {
    dataDir,
    http: { host: e.WARDEN_HOST ?? '127.0.0.1', port: e.WARDEN_PORT ?? 8484 },
    dockerSocket: path.resolve(cwd, e.WARDEN_DOCKER_SOCKET ?? path.join(dataDir, 'docker.sock')),
    adminToken: e.WARDEN_ADMIN_TOKEN,
    database: { url: e.DATABASE_URL },
    redis: { url: e.REDIS_URL },
    log: { level: e.WARDEN_LOG_LEVEL ?? 'info' },
    audit: { batchSize: e.WARDEN_AUDIT_BATCH_SIZE ?? 500, flushMs: e.WARDEN_AUDIT_FLUSH_MS ?? 5 },
  };
}

/** The table the README documents; kept next to the schema so they cannot drift apart. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: string; default: string; meaning: string }> = [
  {
    name: 'WARDEN_DATA_DIR',
    default: './var',
    meaning: 'state: embedded PostgreSQL, Redis AOF, image store, logs',
  },
  { name: 'WARDEN_HOST', default: '127.0.0.1', meaning: 'HTTP listen address' },
  { name: 'WARDEN_PORT', default: '8484', meaning: 'HTTP port (REST, /v2/, /health, /metrics, /docs)' },
  {
    name: 'WARDEN_DOCKER_SOCKET',
    default: '$WARDEN_DATA_DIR/docker.sock',
    meaning: 'Docker-compatible unix socket',
  },
  {
    name: 'WARDEN_ADMIN_TOKEN',
    default: '(none)',
    meaning: 'bootstrap admin bearer token, at least 16 characters',
  },
  {
    name: 'DATABASE_URL',
    default: '(embedded)',
    meaning: 'external PostgreSQL; unset = start embedded PostgreSQL',
  },
  {
    name: 'REDIS_URL',
    default: '(embedded)',
    meaning: 'external Redis (redis://, rediss://, unix://); unset = start redis-server',
  },
  { name: 'WARDEN_LOG_LEVEL', default: 'info', meaning: 'trace, debug, info, warn, error, fatal or silent' },
  {
    name: 'WARDEN_AUDIT_BATCH_SIZE',
    default: '500',
    meaning: 'most audit events a worker commits in one transaction',
  },
  { name: 'WARDEN_AUDIT_FLUSH_MS', default: '5', meaning: 'how long a worker waits to fill an audit batch' },
];
