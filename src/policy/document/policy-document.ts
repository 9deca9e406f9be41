import { posix } from 'node:path';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../platform/canonical';
import { isValidRegistry, isValidRepositoryName, looksLikeRegistry } from '../../images';
import {
  LINUX_CAPABILITIES,
  NANO_CPUS_PER_CPU,
  cpusToNanoCpus,
  normalizeCapability,
  parseByteSize,
} from '../spec/units';
import { ULIMIT_NAMES, type UlimitName } from '../spec/ulimits';

/**
 * Policy documents in their normalized form: memory in bytes, CPU in CPUs (as `--cpus`), lists
 * sorted and deduplicated. A version id is the hash of this form, so `2g` and 2147483648, or
 * two orderings of one allowlist, are the same version. The normalized form parses back to
 * itself, so it can be stored as is.
 */
export interface LimitRule {
  required?: boolean;
  max?: number;
  default?: number;
}

export interface PolicyRules {
  resources?: {
    /** bytes */
    memory?: LimitRule;
    /** CPUs, like `docker run --cpus` (0.5 = half a CPU); {nanoCpus} input is converted. */
    cpu?: LimitRule;
    pids?: LimitRule;
    /** bytes: the writable layer's size (`--storage-opt size=`) */
    storage?: LimitRule;
    /** bytes: each tmpfs mount's size (its pages count against the memory cap, as the kernel does) */
    tmpfs?: LimitRule;
    /** Block I/O caps: rates per device (bytes or operations per second) and the weight. */
    io?: IoRules;
  };
  images?: {
    /** `host[:port][/path]`, a repository path without host (local images), or '' for all local images */
    allowedRegistries?: string[];
    requireDigest?: boolean;
    forbidLatest?: boolean;
  };
  privileged?: { allow: boolean };
  hostNamespaces?: { allow: boolean };
  /** Normalized `CAP_X`, or `ALL`. */
  capabilities?: { allowAdd: string[] };
  binds?: { allowedHostPaths: string[] };
  devices?: { allowedHostPaths: string[] };
  labels?: { required: string[] };
  /** Leaving Warden's built-in seccomp profile: off entirely, or for a profile the request brings. */
  seccomp?: { allowUnconfined: boolean; allowCustom: boolean };
  /** `--memory-swap -1`: swap without limit, so the memory cap no longer bounds what the container holds. */
  memorySwap?: { allowUnlimited: boolean };
  /** Highest hard limit per ulimit name; a name not listed has no policy cap (lowering is always safe). */
  ulimits?: { max: Partial<Record<UlimitName, number>> };
  network?: NetworkRules;
  /**
   * Volumes (issue 17): which drivers and driver options a volume may use (an option such as
   * `device` or `o` can reach host paths or NFS), and its size in bytes.
   */
  volumes?: { allowedDrivers?: string[]; allowedOptions?: string[]; size?: LimitRule };
}

export interface IoRules {
  readBps?: { max: number };
  writeBps?: { max: number };
  readIops?: { max: number };
  writeIops?: { max: number };
  weight?: { max: number };
}

/** Which networks a container may join and what it may publish on the host (issue 16). */
export interface NetworkRules {
  /** Network modes and names: `none`, `host`, `bridge`, a user network's name, or `*` for any. */
  allowedNetworks?: string[];
  publish?: {
    /** Host ports and ranges (`8000-8999`); a request for any free port (`-p 80`, `-P`) needs `*`. */
    allowedHostPorts?: string[];
    /** Host addresses a port may be bound on; `0.0.0.0` is every address. */
    allowedHostIps?: string[];
    /** Whether a port below 1024 may be bound on every address (0.0.0.0). */
    wildcardBelow1024?: boolean;
  };
}

export type PolicyMode = 'enforce' | 'audit';

export interface PolicyDocument {
  name: string;
  mode: PolicyMode;
  description?: string;
  rules: PolicyRules;
}

const size = z.union([z.number(), z.string()], { error: 'must be bytes or a size such as 2g' });
const cpus = z.union([z.number(), z.string(), z.strictObject({ nanoCpus: z.number().int() })], {
  error: 'must be a number of CPUs such as 0.5, or {nanoCpus}',
});
const limit = <T extends z.ZodType>(value: T) =>
  z.strictObject({ required: z.boolean().optional(), max: value.optional(), default: value.optional() });
const allow = z.strictObject({ allow: z.boolean() });
const pathList = z.strictObject({ allowedHostPaths: z.array(z.string()) });

export const POLICY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const policyDocumentInputSchema = z.strictObject({
  name: z.string().regex(POLICY_NAME_RE, 'must be 1-63 lowercase letters, digits, ".", "_" or "-"'),
  mode: z.enum(['enforce', 'audit']),
  description: z.string().max(4096).optional(),
  rules: z.strictObject({
    resources: z
      .strictObject({
        memory: limit(size).optional(),
        cpu: limit(cpus).optional(),
        pids: limit(z.number().int()).optional(),
        storage: limit(size).optional(),
        tmpfs: limit(size).optional(),
        io: z
          .strictObject({
            readBps: z.strictObject({ max: size }).optional(),
            writeBps: z.strictObject({ max: size }).optional(),
            readIops: z.strictObject({ max: z.number().int() }).optional(),
            writeIops: z.strictObject({ max: z.number().int() }).optional(),
            weight: z.strictObject({ max: z.number().int() }).optional(),
          })
          .optional(),
      })
      .optional(),
    images: z
      .strictObject({
        allowedRegistries: z.array(z.string()).optional(),
        requireDigest: z.boolean().optional(),
        forbidLatest: z.boolean().optional(),
      })
      .optional(),
    privileged: allow.optional(),
    hostNamespaces: allow.optional(),
    capabilities: z.strictObject({ allowAdd: z.array(z.string()) }).optional(),
    binds: pathList.optional(),
    devices: pathList.optional(),
    labels: z.strictObject({ required: z.array(z.string()) }).optional(),
    seccomp: z.strictObject({ allowUnconfined: z.boolean(), allowCustom: z.boolean() }).optional(),
    memorySwap: z.strictObject({ allowUnlimited: z.boolean() }).optional(),
    ulimits: z
      .strictObject({
        max: z.partialRecord(z.enum(ULIMIT_NAMES), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)),
      })
      .optional(),
    network: z
      .strictObject({
        allowedNetworks: z.array(z.string().max(256)).max(256).optional(),
        publish: z
          .strictObject({
            allowedHostPorts: z
              .array(z.string().regex(/^(\*|\d{1,5}(-\d{1,5})?)$/, 'must be a port, a range a-b, or *'))
              .max(256)
              .optional(),
            allowedHostIps: z.array(z.ipv4()).max(256).optional(),
            wildcardBelow1024: z.boolean().optional(),
          })
          .optional(),
      })
      .optional(),
    volumes: z
      .strictObject({
        allowedDrivers: z.array(z.string()).optional(),
        allowedOptions: z.array(z.string()).optional(),
        size: limit(size).optional(),
      })
      .optional(),
  }),
});

export type PolicyDocumentInput = z.infer<typeof policyDocumentInputSchema>;
export type ParsePolicyDocumentResult = { ok: true; doc: PolicyDocument } | { ok: false; errors: string[] };

const sortedUnique = (xs: string[]): string[] => [...new Set(xs)].sort();

export function normalizeHostPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Trailing '/' dropped and the host lowercased (DNS names are case-insensitive). */
export function normalizeRegistryEntry(entry: string): string {
  const trimmed = entry.trim().replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const first = slash < 0 ? trimmed : trimmed.slice(0, slash);
  if (!looksLikeRegistry(first)) return trimmed;
  return first.toLowerCase() + (slash < 0 ? '' : trimmed.slice(slash));
}

function registryEntryProblem(entry: string): string | undefined {
  if (entry === '') return undefined;
  const slash = entry.indexOf('/');
  const first = slash < 0 ? entry : entry.slice(0, slash);
  if (looksLikeRegistry(first)) {
    if (!isValidRegistry(first)) return `"${first}" is not a valid registry host[:port]`;
    const path = slash < 0 ? '' : entry.slice(slash + 1);
    if (path !== '' && !isValidRepositoryName(path)) return `"${path}" is not a valid repository path`;
    return undefined;
  }
  return isValidRepositoryName(entry)
    ? undefined
    : `"${entry}" is neither host[:port][/path] nor a repository path`;
}

export function normalizePolicyDocument(doc: PolicyDocument): PolicyDocument {
  const r = doc.rules;
  const rules: PolicyRules = { ...r };
  if (r.images?.allowedRegistries)
    rules.images = {
      ...r.images,
      allowedRegistries: sortedUnique(r.images.allowedRegistries.map(normalizeRegistryEntry)),
    };
  if (r.capabilities)
    rules.capabilities = { allowAdd: sortedUnique(r.capabilities.allowAdd.map(normalizeCapability)) };
  if (r.binds)
    rules.binds = { allowedHostPaths: sortedUnique(r.binds.allowedHostPaths.map(normalizeHostPath)) };
  if (r.devices)
    rules.devices = { allowedHostPaths: sortedUnique(r.devices.allowedHostPaths.map(normalizeHostPath)) };
  if (r.labels) rules.labels = { required: sortedUnique(r.labels.required.map((l) => l.trim())) };
  if (r.volumes) {
    const v: NonNullable<PolicyRules['volumes']> = { ...r.volumes };
    if (r.volumes.allowedDrivers) v.allowedDrivers = sortedUnique(r.volumes.allowedDrivers);
    if (r.volumes.allowedOptions) v.allowedOptions = sortedUnique(r.volumes.allowedOptions);
    rules.volumes = v;
  }
  const out: PolicyDocument = { name: doc.name, mode: doc.mode, rules };
  if (doc.description !== undefined) out.description = doc.description;
  return out;
}

export function policyVersionId(doc: PolicyDocument): string {
  return sha256Hex(canonicalJson(normalizePolicyDocument(doc)));
}

type Converter<T> = (field: string, value: T, errors: string[]) => number | undefined;

const toBytes: Converter<string | number> = (field, value, errors) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || !Number.isInteger(bytes) || bytes <= 0) {
    errors.push(`${field}: ${JSON.stringify(value)} must be a positive size such as 512m or 2g`);
    return undefined;
  }
  return bytes;
};

const toCpus: Converter<string | number | { nanoCpus: number }> = (field, value, errors) => {
  const cpus =
    typeof value === 'object'
      ? value.nanoCpus / NANO_CPUS_PER_CPU
      : typeof value === 'number'
        ? value
        : value.trim() === ''
          ? NaN
          : Number(value);
  // Below one NanoCpu is not a limit the kernel can express.
  if (!Number.isFinite(cpus) || cpusToNanoCpus(cpus) <= 0) {
    errors.push(`${field}: ${JSON.stringify(value)} must be a positive number of CPUs such as 0.5`);
    return undefined;
  }
  return cpus;
};

const toPids: Converter<number> = (field, value, errors) => {
  if (value <= 0) {
    errors.push(`${field}: ${value} must be a positive number of processes`);
    return undefined;
  }
  return value;
};

const toOpsPerSecond: Converter<number> = (field, value, errors) => {
  if (value <= 0) {
    errors.push(`${field}: ${value} must be a positive number of operations per second`);
    return undefined;
  }
  return value;
};

function convertLimit<T>(
  field: string,
  input: { required?: boolean; max?: T; default?: T } | undefined,
  convert: Converter<T>,
  errors: string[],
): LimitRule | undefined {
  if (input === undefined) return undefined;
  const out: LimitRule = {};
  if (input.required !== undefined) out.required = input.required;
  const max = input.max === undefined ? undefined : convert(`${field}.max`, input.max, errors);
  const dflt = input.default === undefined ? undefined : convert(`${field}.default`, input.default, errors);
  if (max !== undefined) out.max = max;
  if (dflt !== undefined) out.default = dflt;
  // A default above the cap would make every request that relies on it fail.
  if (max !== undefined && dflt !== undefined && dflt > max)
    errors.push(
      `${field}.default is above ${field}.max; a request relying on the default would always be denied`,
    );
  return out;
}

/** Validate and normalize a policy document from JSON; every problem is listed with its field. */
export function parsePolicyDocument(input: unknown): ParsePolicyDocumentResult {
  const parsed = policyDocumentInputSchema.safeParse(input);
  if (!parsed.success)
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'document'}: ${i.message}`),
    };
  const d = parsed.data;
  const errors: string[] = [];
  const rules: PolicyRules = {};
  const res = d.rules.resources;
  if (res) {
    rules.resources = {};
    const memory = convertLimit('rules.resources.memory', res.memory, toBytes, errors);
    const cpu = convertLimit('rules.resources.cpu', res.cpu, toCpus, errors);
    const pids = convertLimit('rules.resources.pids', res.pids, toPids, errors);
    if (memory) rules.resources.memory = memory;
    if (cpu) rules.resources.cpu = cpu;
    if (pids) rules.resources.pids = pids;
    for (const key of ['storage', 'tmpfs'] as const) {
      const rule = convertLimit(`rules.resources.${key}`, res[key], toBytes, errors);
      if (rule) rules.resources[key] = rule;
    }
    if (res.io) {
      const io: IoRules = {};
      const put = (key: keyof IoRules, max: number | undefined) => {
        if (max !== undefined) io[key] = { max };
      };
      const f = 'rules.resources.io';
      if (res.io.readBps) put('readBps', toBytes(`${f}.readBps.max`, res.io.readBps.max, errors));
      if (res.io.writeBps) put('writeBps', toBytes(`${f}.writeBps.max`, res.io.writeBps.max, errors));
      if (res.io.readIops) put('readIops', toOpsPerSecond(`${f}.readIops.max`, res.io.readIops.max, errors));
      if (res.io.writeIops)
        put('writeIops', toOpsPerSecond(`${f}.writeIops.max`, res.io.writeIops.max, errors));
      if (res.io.weight) {
        if (res.io.weight.max < 10 || res.io.weight.max > 1000)
          errors.push(`${f}.weight.max: ${res.io.weight.max} must be from 10 to 1000`);
        else put('weight', res.io.weight.max);
      }
      rules.resources.io = io;
    }
  }
  if (d.rules.images) {
    rules.images = { ...d.rules.images };
    d.rules.images.allowedRegistries?.forEach((entry, i) => {
      const problem = registryEntryProblem(normalizeRegistryEntry(entry));
      if (problem) errors.push(`rules.images.allowedRegistries[${i}]: ${problem}`);
    });
  }
  if (d.rules.privileged) rules.privileged = d.rules.privileged;
  if (d.rules.hostNamespaces) rules.hostNamespaces = d.rules.hostNamespaces;
  if (d.rules.capabilities) {
    rules.capabilities = d.rules.capabilities;
    d.rules.capabilities.allowAdd.forEach((c, i) => {
      const cap = normalizeCapability(c);
      if (cap !== 'ALL' && !LINUX_CAPABILITIES.has(cap))
        errors.push(`rules.capabilities.allowAdd[${i}]: unknown capability ${JSON.stringify(c)}`);
    });
  }
  for (const key of ['binds', 'devices'] as const) {
    const paths = d.rules[key]?.allowedHostPaths;
    if (!paths) continue;
    rules[key] = { allowedHostPaths: paths };
    paths.forEach((p, i) => {
      if (!p.startsWith('/') || p.includes('\0'))
        errors.push(`rules.${key}.allowedHostPaths[${i}]: ${JSON.stringify(p)} must be an absolute path`);
    });
  }
  if (d.rules.network) rules.network = d.rules.network;
  if (d.rules.labels) {
    rules.labels = d.rules.labels;
    if (d.rules.labels.required.some((l) => l.trim() === ''))
      errors.push('rules.labels.required: a label name is empty');
  }
  if (d.rules.seccomp) rules.seccomp = d.rules.seccomp;
  if (d.rules.memorySwap) rules.memorySwap = d.rules.memorySwap;
  if (d.rules.ulimits) rules.ulimits = { max: { ...d.rules.ulimits.max } };
  if (d.rules.volumes) {
    const v = d.rules.volumes;
    rules.volumes = {};
    if (v.allowedDrivers) rules.volumes.allowedDrivers = v.allowedDrivers;
    if (v.allowedOptions) rules.volumes.allowedOptions = v.allowedOptions;
    const sized = convertLimit('rules.volumes.size', v.size, toBytes, errors);
    if (sized) rules.volumes.size = sized;
    [...(v.allowedDrivers ?? []), ...(v.allowedOptions ?? [])].forEach((name) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
        errors.push(`rules.volumes: ${JSON.stringify(name)} is not a driver or option name`);
    });
  }
  if (errors.length) return { ok: false, errors };
  const doc: PolicyDocument = { name: d.name, mode: d.mode, rules };
  if (d.description !== undefined) doc.description = d.description;
  return { ok: true, doc: normalizePolicyDocument(doc) };
}

export const BASELINE_POLICY_NAME = 'baseline';

/**
 * The policy a fresh install binds to everyone (issue 3): fills caps a request lacks, refuses
 * privileged, host namespaces, added capabilities, host binds and host devices (each of them
 * is root on the host), and admits the configured upstreams plus locally imported images ('').
 */
export function baselinePolicy(opts: { upstreamRegistries: string[] }): PolicyDocument {
  // Config may hold upstream URLs; image references name the host only.
  const upstreams = opts.upstreamRegistries.map((u) => u.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
  return normalizePolicyDocument({
    name: BASELINE_POLICY_NAME,
    mode: 'enforce',
    description:
      'Built-in safe defaults: caps filled in, no privileged, host namespaces, capabilities or host mounts, ' +
      'the built-in seccomp profile only, no unlimited swap, local volumes only.',
    rules: {
      resources: {
        memory: { default: 512 * 1024 ** 2 },
        cpu: { default: 1 },
        pids: { default: 1024 },
        storage: { default: 10 * 1024 ** 3 },
      },
      images: { allowedRegistries: [...upstreams, ''] },
      privileged: { allow: false },
      hostNamespaces: { allow: false },
      capabilities: { allowAdd: [] },
      binds: { allowedHostPaths: [] },
      devices: { allowedHostPaths: [] },
      seccomp: { allowUnconfined: false, allowCustom: false },
      memorySwap: { allowUnlimited: false },
      ulimits: { max: { nofile: 1048576, nproc: 65536, memlock: 64 * 1024 ** 2 } },
      // A port below 1024 on every address is a service for the whole network: ask for it.
      network: { publish: { wildcardBelow1024: false } },
      // `size` is the only option of the local driver that reaches no host path or network.
      volumes: { allowedDrivers: ['local'], allowedOptions: ['size'] },
    },
  });
}
