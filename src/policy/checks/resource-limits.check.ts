import type { LimitRule } from '../document/policy-document';
import type { ContainerSpec } from '../spec/container-spec';
import { formatRate } from '../spec/bandwidth';
import { cpusToNanoCpus, formatBytes, formatCpus } from '../spec/units';
import { Check, CheckContext, CheckResult, violation } from './check-result';

interface Resource {
  key: 'memory' | 'cpu' | 'pids' | 'storage' | 'egress' | 'ingress';
  field: 'memoryBytes' | 'nanoCpus' | 'pidsLimit' | 'storageBytes' | 'egressBps' | 'ingressBps';
  noun: string;
  format: (n: number) => string;
  hint: string;
  /** Policy unit → spec unit (the policy says CPUs, the spec holds NanoCpus). */
  fromRule: (n: number) => number;
  /** Judged only for these specs (bandwidth: a container on a bridge network, the one tc shapes). */
  applies?: (spec: ContainerSpec) => boolean;
}

const bridged = (spec: ContainerSpec) =>
  spec.networkMode !== 'none' && spec.networkMode !== 'host' && !spec.hostNamespaces.net;

const same = (n: number) => n;

const RESOURCES: readonly Resource[] = [
  {
    key: 'memory',
    field: 'memoryBytes',
    noun: 'memory',
    format: formatBytes,
    hint: 'set memory, e.g. 512m',
    fromRule: same,
  },
  {
    key: 'cpu',
    field: 'nanoCpus',
    noun: 'cpu',
    format: formatCpus,
    hint: 'set cpus, e.g. 0.5',
    fromRule: cpusToNanoCpus,
  },
  {
    key: 'pids',
    field: 'pidsLimit',
    noun: 'pids limit',
    format: String,
    hint: 'set pidsLimit, e.g. 256',
    fromRule: same,
  },
  {
    key: 'storage',
    field: 'storageBytes',
    noun: 'writable layer size',
    format: formatBytes,
    hint: 'set storageSize (--storage-opt size=), e.g. 10g',
    fromRule: same,
  },
  {
    key: 'egress',
    field: 'egressBps',
    noun: 'egress bandwidth',
    format: formatRate,
    hint: 'set bandwidth.egress (the label warden.bandwidth.egress), e.g. 10mbit',
    fromRule: same,
    applies: bridged,
  },
  {
    key: 'ingress',
    field: 'ingressBps',
    noun: 'ingress bandwidth',
    format: formatRate,
    hint: 'set bandwidth.ingress (the label warden.bandwidth.ingress), e.g. 10mbit',
    fromRule: same,
    applies: bridged,
  },
];

/** Each tmpfs mount's size against `resources.tmpfs` (a tmpfs without a size may fill the memory cap). */
function checkTmpfs(rule: LimitRule, spec: ContainerSpec, ctx: CheckContext, out: CheckResult[]) {
  for (const t of spec.tmpfs) {
    if (t.sizeBytes === undefined) {
      if (rule.required || rule.max !== undefined)
        out.push(
          violation(
            ctx,
            `resources.tmpfs.${rule.max !== undefined ? 'max' : 'required'}`,
            rule.max !== undefined
              ? `tmpfs ${t.target} has no size but the cap is ${formatBytes(rule.max)}; add size=, e.g. ${t.target}:size=64m`
              : `tmpfs ${t.target} needs a size; add size=, e.g. ${t.target}:size=64m`,
            { field: 'tmpfs', target: t.target, value: null, max: rule.max ?? null },
          ),
        );
    } else if (rule.max !== undefined && t.sizeBytes > rule.max)
      out.push(
        violation(
          ctx,
          'resources.tmpfs.max',
          `tmpfs ${t.target} size ${formatBytes(t.sizeBytes)} exceeds cap ${formatBytes(rule.max)}`,
          { field: 'tmpfs', target: t.target, value: t.sizeBytes, max: rule.max },
        ),
      );
  }
}

function checkOne(r: Resource, rule: LimitRule, spec: ContainerSpec, ctx: CheckContext, out: CheckResult[]) {
  const value = spec[r.field];
  const max = rule.max === undefined ? undefined : r.fromRule(rule.max);
  if (value === undefined) {
    if (rule.required || max !== undefined)
      out.push(
        violation(
          ctx,
          `resources.${r.key}.${rule.required ? 'required' : 'max'}`,
          max !== undefined
            ? `${r.noun} is unlimited but the cap is ${r.format(max)}; ${r.hint}`
            : `a ${r.noun} cap is required; ${r.hint}`,
          { field: r.field, value: null, max: max ?? null },
        ),
      );
    return;
  }
  if (max !== undefined && value > max)
    out.push(
      violation(ctx, `resources.${r.key}.max`, `${r.noun} ${r.format(value)} exceeds cap ${r.format(max)}`, {
        field: r.field,
        value,
        max,
      }),
    );
}

/**
 * Memory, CPU, pids, writable-layer, network bandwidth and tmpfs size caps. Runs after policy defaults are filled, so `required` only
 * fails when the policy has no default either. A cap with no value is a violation of `max`
 * too: unlimited is more than any cap.
 */
export const resourceLimitsCheck: Check = (spec, rules, ctx) => {
  const res = rules.resources;
  if (!res) return [];
  const out: CheckResult[] = [];
  for (const r of RESOURCES) {
    const rule = res[r.key];
    if (rule && (r.applies?.(spec) ?? true)) checkOne(r, rule, spec, ctx, out);
  }
  if (res.tmpfs) checkTmpfs(res.tmpfs, spec, ctx, out);
  return out;
};
