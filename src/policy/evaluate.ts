import { imageName } from '../images';
import { ALL_CHECKS, Check, CheckContext, Reason } from './checks';
import type { PolicyDocument, PolicyMode } from './document/policy-document';
import type { ContainerSpec } from './spec/container-spec';
import { cpusToNanoCpus } from './spec/units';
import { parseEgressList } from './spec/egress';

export interface Principal {
  id: string;
  teams: string[];
  /**
   * Kubernetes subjects as `<binding kind>:<value>` (`k8s-namespace:shop`): what a reviewed
   * object's policy is bound by (admission); absent for Warden's own callers.
   */
  subjects?: string[];
}

/**
 * A waiver of one rule for one scope (a principal or a team) and one image (by digest or
 * repository), approved by someone other than the requester, until expiresAt.
 */
export interface Exception {
  id: string;
  rule: string;
  principalId?: string;
  team?: string;
  image: { digest?: string; repository?: string };
  requester: string;
  approver: string;
  ticket: string;
  expiresAt: Date;
}

export interface EvaluatedPolicy {
  name: string;
  versionId: string;
  doc: PolicyDocument;
}

export interface WaivedReason extends Reason {
  exceptionId: string;
}

export type DefaultedField =
  | 'memoryBytes'
  | 'nanoCpus'
  | 'pidsLimit'
  | 'storageBytes'
  | 'egressBps'
  | 'ingressBps'
  | 'tmpfsSizeBytes'
  | 'logMaxBytes'
  | 'logMaxFiles'
  | 'restartPolicy.maximumRetryCount'
  | 'egress';

/** Warden's own defaults (config), used where neither the request nor the policy gives one. */
export interface SystemDefaults {
  logMaxBytes: number;
  logMaxFiles: number;
}

export interface DefaultApplied {
  field: DefaultedField;
  value: number;
  /** The tmpfs mount a `tmpfsSizeBytes` default went to. */
  target?: string;
  /** An `egress` default's allowlist (its `value` is the number of entries). */
  entries?: string[];
}

export interface Decision {
  /** In audit mode always true; `reasons` then lists what enforce mode would have denied. */
  allowed: boolean;
  mode: PolicyMode;
  /** null only for the fail-closed decision when no policy could be used. */
  policy: string | null;
  policyVersion: string | null;
  reasons: Reason[];
  waived: WaivedReason[];
  defaultsApplied: DefaultApplied[];
}

export interface EvaluateInput {
  policy: EvaluatedPolicy;
  spec: ContainerSpec;
  principal: Principal;
  exceptions: readonly Exception[];
  now: Date;
  /** Host symlink resolver for bind and device paths (see CheckContext.realpath). */
  realpath?: (path: string) => string;
  /** Defaults to every check; replay and tests may narrow it. */
  checks?: readonly Check[];
  /** Warden's defaults, kept under the policy's caps; replay leaves them out. */
  systemDefaults?: SystemDefaults;
}

export interface EvaluationResult {
  decision: Decision;
  /** The spec with policy defaults filled in: what the runtime must launch. */
  effectiveSpec: ContainerSpec;
}

const same = (n: number) => n;
// The policy writes CPUs, the spec holds NanoCpus.
const DEFAULTABLE: ReadonlyArray<
  [
    Exclude<DefaultedField, 'tmpfsSizeBytes' | 'restartPolicy.maximumRetryCount' | 'egress'>,
    'memory' | 'cpu' | 'pids' | 'storage' | 'egress' | 'ingress',
    (n: number) => number,
  ]
> = [
  ['memoryBytes', 'memory', same],
  ['nanoCpus', 'cpu', cpusToNanoCpus],
  ['pidsLimit', 'pids', same],
  ['storageBytes', 'storage', same],
  ['egressBps', 'egress', same],
  ['ingressBps', 'ingress', same],
];

/**
 * Defaults are filled before any check runs, so caps apply to the values actually launched:
 * the policy's default first, then Warden's own (config) kept under the policy's cap.
 */
export function applyDefaults(
  spec: ContainerSpec,
  doc: PolicyDocument,
  system?: SystemDefaults,
): { effectiveSpec: ContainerSpec; defaultsApplied: DefaultApplied[] } {
  const res = doc.rules.resources ?? {};
  const defaultsApplied: DefaultApplied[] = [];
  let effectiveSpec = spec;
  // `on-failure` without a count: the policy's default count instead of no end.
  const retries = doc.rules.restart?.maxRetries?.default;
  if (
    retries !== undefined &&
    spec.restartPolicy?.name === 'on-failure' &&
    !spec.restartPolicy.maximumRetryCount
  ) {
    effectiveSpec = { ...spec, restartPolicy: { name: 'on-failure', maximumRetryCount: retries } };
    defaultsApplied.push({ field: 'restartPolicy.maximumRetryCount', value: retries });
  }
  const put = (
    field: Exclude<DefaultedField, 'tmpfsSizeBytes' | 'restartPolicy.maximumRetryCount' | 'egress'>,
    value: number,
  ) => {
    if (effectiveSpec === spec) effectiveSpec = { ...spec };
    effectiveSpec[field] = value;
    defaultsApplied.push({ field, value });
  };
  for (const [field, key, toSpec] of DEFAULTABLE) {
    const dflt = res?.[key]?.default;
    if (dflt === undefined || spec[field] !== undefined) continue;
    put(field, toSpec(dflt));
  }
  if (spec.logDriver !== 'none') {
    const logs = doc.rules.logs;
    for (const [field, rule, fallback] of [
      ['logMaxBytes', logs?.maxSize, system?.logMaxBytes],
      ['logMaxFiles', logs?.maxFiles, system?.logMaxFiles],
    ] as const) {
      if (spec[field] !== undefined) continue;
      const value =
        rule?.default ?? (fallback === undefined ? undefined : Math.min(fallback, rule?.max ?? fallback));
      if (value !== undefined) put(field, value);
    }
  }
  // A container on a bridge network that asks for no allowlist gets the policy's.
  const egress = doc.rules.network?.egress?.default;
  const bridged = !spec.hostNamespaces.net && !['none', 'host'].includes(spec.networkMode);
  if (egress && spec.egress === undefined && bridged && !spec.networkMode.startsWith('container:')) {
    if (effectiveSpec === spec) effectiveSpec = { ...spec };
    effectiveSpec.egress = parseEgressList('rules.network.egress.default', egress, []);
    defaultsApplied.push({ field: 'egress', value: egress.length, entries: [...egress] });
  }
  // A tmpfs without a size gets the policy's (the kernel's own default is half the host's RAM).
  const tmpfsSize = res?.tmpfs?.default;
  if (tmpfsSize !== undefined && spec.tmpfs.some((t) => t.sizeBytes === undefined)) {
    if (effectiveSpec === spec) effectiveSpec = { ...spec };
    effectiveSpec.tmpfs = spec.tmpfs.map((t) => {
      if (t.sizeBytes !== undefined) return t;
      defaultsApplied.push({ field: 'tmpfsSizeBytes', value: tmpfsSize, target: t.target });
      return { ...t, sizeBytes: tmpfsSize };
    });
  }
  return { effectiveSpec, defaultsApplied };
}

/** An exception applies only to its rule, its scope, its image and only before it expires. */
export function exceptionApplies(
  exc: Exception,
  reason: Reason,
  spec: { image: ContainerSpec['image'] },
  principal: Principal,
  now: Date,
): boolean {
  if (exc.rule !== reason.rule) return false;
  // Checked again here though the store refuses it: a self-approved waiver is no approval.
  if (!exc.approver || exc.approver === exc.requester) return false;
  // NaN (an invalid date) compares false, so a malformed expiry never admits.
  if (!(now.getTime() < exc.expiresAt.getTime())) return false;
  if (exc.principalId === undefined && exc.team === undefined) return false;
  if (exc.principalId !== undefined && exc.principalId !== principal.id) return false;
  if (exc.team !== undefined && !principal.teams.includes(exc.team)) return false;
  const { digest, repository } = exc.image;
  if (digest === undefined && repository === undefined) return false;
  if (digest !== undefined && digest !== spec.image.digest && digest !== spec.image.resolvedDigest)
    return false;
  if (repository !== undefined && repository !== imageName(spec.image)) return false;
  return true;
}

/**
 * The one decision point (issue 3): fill defaults, run every check, waive what a live
 * exception covers, and decide by mode. Pure: same input, same decision; never throws on a
 * valid spec and policy.
 */
export function evaluatePolicy(input: EvaluateInput): EvaluationResult {
  const { policy, principal, exceptions, now } = input;
  const { effectiveSpec, defaultsApplied } = applyDefaults(input.spec, policy.doc, input.systemDefaults);
  const ctx: CheckContext = { policyName: policy.name };
  if (input.realpath) ctx.realpath = input.realpath;

  const reasons: Reason[] = [];
  const waived: WaivedReason[] = [];
  for (const check of input.checks ?? ALL_CHECKS) {
    for (const reason of check(effectiveSpec, policy.doc.rules, ctx)) {
      const exc = exceptions.find((e) => exceptionApplies(e, reason, effectiveSpec, principal, now));
      if (exc) waived.push({ ...reason, exceptionId: exc.id });
      else reasons.push(reason);
    }
  }
  return { decision: decisionOf(policy, reasons, waived, defaultsApplied), effectiveSpec };
}

/** What a judge of one action (an attach, a connect) is given besides the action itself. */
export interface ActionInput<S> {
  policy: EvaluatedPolicy;
  spec: S;
  principal: Principal;
  exceptions: readonly Exception[];
  now: Date;
}

/** Reasons split into those a live exception waives and those that stand. */
export function waiveByExceptions(
  found: readonly Reason[],
  exceptions: readonly Exception[],
  spec: { image: ContainerSpec['image'] },
  principal: Principal,
  now: Date,
): { reasons: Reason[]; waived: WaivedReason[] } {
  const reasons: Reason[] = [];
  const waived: WaivedReason[] = [];
  for (const reason of found) {
    const exc = exceptions.find((e) => exceptionApplies(e, reason, spec, principal, now));
    if (exc) waived.push({ ...reason, exceptionId: exc.id });
    else reasons.push(reason);
  }
  return { reasons, waived };
}

/** The decision by the policy's mode: audit admits and keeps the reasons enforce would deny on. */
export function decisionOf(
  policy: EvaluatedPolicy,
  reasons: Reason[],
  waived: WaivedReason[] = [],
  defaultsApplied: DefaultApplied[] = [],
): Decision {
  const mode = policy.doc.mode;
  return {
    allowed: mode === 'audit' || reasons.length === 0,
    mode,
    policy: policy.name,
    policyVersion: policy.versionId,
    reasons,
    waived,
    defaultsApplied,
  };
}

/**
 * Fail closed (DESIGN: no loaded policy, no launch): the decision when no policy is bound to
 * the principal, or the bound one could not be loaded.
 */
export function evaluateForNoPolicy(
  opts: { principal?: Pick<Principal, 'id'>; loadError?: string } = {},
): Decision {
  const who = opts.principal ? `principal ${opts.principal.id}` : 'this principal';
  const reason: Reason =
    opts.loadError !== undefined
      ? {
          rule: 'policy.load',
          message: `the policy bound to ${who} could not be loaded (${opts.loadError}); launches are denied until it loads`,
          detail: { principalId: opts.principal?.id ?? null, error: opts.loadError },
        }
      : {
          rule: 'policy.binding',
          message: `no policy is bound to ${who} or its teams; launches are denied until an admin binds one`,
          detail: { principalId: opts.principal?.id ?? null },
        };
  return {
    allowed: false,
    mode: 'enforce',
    policy: null,
    policyVersion: null,
    reasons: [reason],
    waived: [],
    defaultsApplied: [],
  };
}
