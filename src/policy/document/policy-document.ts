import { posix } from 'node:path';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../platform/canonical';
import { isValidRegistry, isValidRepositoryName, looksLikeRegistry } from '../../images';
import { LINUX_CAPABILITIES, normalizeCapability } from '../spec/units';
import { ULIMIT_NAMES, type UlimitName } from '../spec/ulimits';
import type { PushDestination } from '../spec/push-spec';
import {
  convertEgressRules,
  convertLimit,
  toBytes,
  toCpus,
  toOpsPerSecond,
  toPids,
  toRate,
} from './converters';
import { convertExecAndLogs } from './exec-log-rules';
import { RESTART_POLICY_NAMES, type RestartPolicyName } from '../spec/restart-policy';

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
    /** bits/s: network rate caps (`10mbit`), what a container sends and what it receives */
    egress?: LimitRule;
    ingress?: LimitRule;
    /** Block I/O caps: rates per device (bytes or operations per second) and the weight. */
    io?: IoRules;
  };
  images?: {
    /** `host[:port][/path]`, a repository path without host (local images), or '' for all local images */
    allowedRegistries?: string[];
    requireDigest?: boolean;
    forbidLatest?: boolean;
    /**
     * Device nodes and fifos in an image's layers outside `/dev` (those under `/dev` are left
     * out at unpack: the container's own `/dev` covers them). Absent or false: refused.
     */
    allowDeviceNodes?: boolean;
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
  /** Namespaced sysctls a container may set: exact names or `prefix.*`; absent: any namespaced one. */
  sysctls?: { allowed: string[] };
  network?: NetworkRules;
  /**
   * Volumes (issue 17): which drivers and driver options a volume may use (an option such as
   * `device` or `o` can reach host paths or NFS), and its size in bytes.
   */
  volumes?: { allowedDrivers?: string[]; allowedOptions?: string[]; size?: LimitRule };
  /** Where images may be pushed (issue 17): none listed (as in baseline) admits no push. */
  push?: { allowedDestinations: PushDestination[] };
  /**
   * Restart policies (issue 15): which may be asked for (`always` and `unless-stopped` keep a
   * container up across every exit and Warden restart), and the retries of `on-failure`: `max`
   * caps them (unlimited exceeds any cap), `default` fills in an `on-failure` without a count.
   */
  restart?: { allowedPolicies?: RestartPolicyName[]; maxRetries?: Omit<LimitRule, 'required'> };
  exec?: ExecRules;
  /** Attach to a running container's stdio: at all, and with stdin. Absent: as Docker allows. */
  attach?: { allow?: boolean; allowStdin?: boolean };
  /** A container's log on disk (`--log-opt`): bytes per file and files kept. */
  logs?: { maxSize?: LimitRule; maxFiles?: LimitRule };
}

/** Exec into running containers (issue 15). An absent field places no limit. */
export interface ExecRules {
  /** false: no exec at all for the principals this policy is bound to. */
  allow?: boolean;
  /** Containers of these images only; entries as in `images.allowedRegistries`. */
  allowedImages?: string[];
  /** false: an exec whose user resolves to uid 0 is denied. */
  allowRoot?: boolean;
  /** false: `exec --privileged` is denied. */
  allowPrivileged?: boolean;
  /** Variable names an exec may not set; `*` matches any run of characters. */
  deniedEnv?: string[];
  /** The exec's session is recorded (its output, and its input on a TTY), at most maxBytes. */
  recording?: { required: boolean; maxBytes?: number };
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
  /**
   * Egress allowlists (`CIDR[:ports][/tcp|udp]`, src/policy/spec/egress.ts): `allowed` is what a
   * container may ask for (set: an unrestricted container is denied); `default` what one that
   * asks for nothing gets.
   */
  egress?: { allowed?: string[]; default?: string[] };
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
const rate = z.union([z.number(), z.string()], { error: 'must be bits/s or a rate such as 10mbit' });
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
        egress: limit(rate).optional(),
        ingress: limit(rate).optional(),
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
        allowDeviceNodes: z.boolean().optional(),
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
    sysctls: z
      .strictObject({
        allowed: z
          .array(
            z
              .string()
              .regex(/^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)*(\.\*)?$/, 'must be a sysctl name or prefix.*'),
          )
          .max(256),
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
        egress: z
          .strictObject({
            allowed: z.array(z.string().max(64)).max(256).optional(),
            default: z.array(z.string().max(64)).max(256).optional(),
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
    push: z
      .strictObject({
        allowedDestinations: z
          .array(
            z.strictObject({
              upstreams: z.array(z.string().min(1).max(256)).min(1).max(64),
              repositories: z
                .array(
                  z
                    .string()
                    .regex(/^(\*|[a-z0-9][a-z0-9._/-]*(\/\*)?)$/, 'must be a repository, prefix/*, or *'),
                )
                .min(1)
                .max(256),
              teams: z.array(z.string().min(1).max(128)).max(256).optional(),
            }),
          )
          .max(256),
      })
      .optional(),
    exec: z
      .strictObject({
        allow: z.boolean().optional(),
        allowedImages: z.array(z.string().max(512)).max(256).optional(),
        allowRoot: z.boolean().optional(),
        allowPrivileged: z.boolean().optional(),
        deniedEnv: z
          .array(
            z.string().regex(/^[A-Za-z0-9_.*-]{1,256}$/, 'must be a variable name, * for any characters'),
          )
          .max(256)
          .optional(),
        recording: z.strictObject({ required: z.boolean(), maxBytes: size.optional() }).optional(),
      })
      .optional(),
    attach: z.strictObject({ allow: z.boolean().optional(), allowStdin: z.boolean().optional() }).optional(),
    logs: z
      .strictObject({ maxSize: limit(size).optional(), maxFiles: limit(z.number().int()).optional() })
      .optional(),
    restart: z
      .strictObject({
        allowedPolicies: z.array(z.enum(RESTART_POLICY_NAMES)).optional(),
        maxRetries: z
          .strictObject({
            max: z.number().int().min(1).max(1_000_000).optional(),
            default: z.number().int().min(1).max(1_000_000).optional(),
          })
          .optional(),
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

export function registryEntryProblem(entry: string): string | undefined {
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
  if (r.sysctls) rules.sysctls = { allowed: sortedUnique(r.sysctls.allowed) };
  if (r.volumes) {
    const v: NonNullable<PolicyRules['volumes']> = { ...r.volumes };
    if (r.volumes.allowedDrivers) v.allowedDrivers = sortedUnique(r.volumes.allowedDrivers);
    if (r.volumes.allowedOptions) v.allowedOptions = sortedUnique(r.volumes.allowedOptions);
    rules.volumes = v;
  }
  if (r.exec) {
    const e: ExecRules = { ...r.exec };
    if (r.exec.allowedImages)
      e.allowedImages = sortedUnique(r.exec.allowedImages.map(normalizeRegistryEntry));
    if (r.exec.deniedEnv) e.deniedEnv = sortedUnique(r.exec.deniedEnv);
    rules.exec = e;
  }
  if (r.restart?.allowedPolicies)
    rules.restart = {
      ...r.restart,
      allowedPolicies: sortedUnique(r.restart.allowedPolicies) as RestartPolicyName[],
    };
  const out: PolicyDocument = { name: doc.name, mode: doc.mode, rules };
  if (doc.description !== undefined) out.description = doc.description;
  return out;
}

export function policyVersionId(doc: PolicyDocument): string {
  return sha256Hex(canonicalJson(normalizePolicyDocument(doc)));
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
    for (const key of ['egress', 'ingress'] as const) {
      const rule = convertLimit(`rules.resources.${key}`, res[key], toRate, errors);
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
  if (d.rules.network) {
    rules.network = d.rules.network;
    convertEgressRules(d.rules.network.egress, errors);
  }
  if (d.rules.push) rules.push = d.rules.push;
  if (d.rules.labels) {
    rules.labels = d.rules.labels;
    if (d.rules.labels.required.some((l) => l.trim() === ''))
      errors.push('rules.labels.required: a label name is empty');
  }
  if (d.rules.seccomp) rules.seccomp = d.rules.seccomp;
  if (d.rules.memorySwap) rules.memorySwap = d.rules.memorySwap;
  if (d.rules.ulimits) rules.ulimits = { max: { ...d.rules.ulimits.max } };
  if (d.rules.attach) rules.attach = { ...d.rules.attach };
  if (d.rules.sysctls) rules.sysctls = { allowed: [...d.rules.sysctls.allowed] };
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
  convertExecAndLogs(d.rules, rules, errors);
  if (d.rules.restart) {
    rules.restart = { ...d.rules.restart };
    const retries = d.rules.restart.maxRetries;
    if (retries?.max !== undefined && retries.default !== undefined && retries.default > retries.max)
      errors.push(
        'rules.restart.maxRetries.default is above rules.restart.maxRetries.max; a request relying on the default would always be denied',
      );
  }
  if (errors.length) return { ok: false, errors };
  const doc: PolicyDocument = { name: d.name, mode: d.mode, rules };
  if (d.description !== undefined) doc.description = d.description;
  return { ok: true, doc: normalizePolicyDocument(doc) };
}
