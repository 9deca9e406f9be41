import type { AdmittedContainer } from '../policy';
import type { K8sContainer, PodTemplate } from './pod-template';
import { formatBytesQuantity, formatCpuQuantity, parseQuantity } from './quantity';

/** One RFC 6902 operation; the mutating webhook only adds. */
export interface PatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

// The policy's defaults a pod has a field for (pids and log caps have none per container).
const LIMIT_OF = {
  memoryBytes: ['memory', formatBytesQuantity],
  nanoCpus: ['cpu', formatCpuQuantity],
  storageBytes: ['ephemeral-storage', formatBytesQuantity],
} as const;

const LIST_OF = { container: 'containers', initContainer: 'initContainers' } as const;

/**
 * The mutating webhook's patch (issue 18): what the policy fills in for a docker run, written
 * into the pod so it runs as it was judged —
 * - the policy's default caps as `resources.limits` where a container has none (never below
 *   the container's own request, which the API server would refuse);
 * - `allowPrivilegeEscalation: false` where it is left out (Warden's no_new_privs), except
 *   beside privileged or CAP_SYS_ADMIN, where the API server refuses it;
 * - `seccompProfile: RuntimeDefault` on the pod when neither it nor a container names one
 *   (judged as the runtime's default profile).
 * Ephemeral containers take no resources and are left alone.
 */
export function defaultsPatch(pod: PodTemplate, judged: AdmittedContainer[]): PatchOp[] {
  const ops: PatchOp[] = [];
  const base = pod.specPointer;
  for (const c of judged) {
    if (c.type === 'ephemeralContainer') continue;
    const list = LIST_OF[c.type];
    const index = (pod.spec[list] ?? []).findIndex((k) => k.name === c.name);
    if (index < 0) continue;
    const k8s = (pod.spec[list] ?? [])[index];
    const at = `${base}/${list}/${index}`;
    ops.push(...limitOps(at, k8s, c), ...escalationOps(at, k8s));
  }
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  if (!pod.spec.securityContext?.seccompProfile && all.every((c) => !c.securityContext?.seccompProfile)) {
    const value = { type: 'RuntimeDefault' };
    ops.push(
      pod.spec.securityContext
        ? { op: 'add', path: `${base}/securityContext/seccompProfile`, value }
        : { op: 'add', path: `${base}/securityContext`, value: { seccompProfile: value } },
    );
  }
  return ops;
}

function limitOps(at: string, k8s: K8sContainer, c: AdmittedContainer): PatchOp[] {
  const limits: Record<string, string> = {};
  for (const d of c.decision.defaultsApplied) {
    if (!(d.field in LIMIT_OF)) continue;
    const [key, format] = LIMIT_OF[d.field as keyof typeof LIMIT_OF];
    if (k8s.resources?.limits?.[key] !== undefined) continue;
    const requested = k8s.resources?.requests?.[key];
    const value = key === 'cpu' ? d.value / 1e9 : d.value;
    const req = requested === undefined ? undefined : parseQuantity(requested);
    limits[key] = req !== undefined && req > value ? String(requested) : format(d.value);
  }
  if (Object.keys(limits).length === 0) return [];
  if (!k8s.resources) return [{ op: 'add', path: `${at}/resources`, value: { limits } }];
  if (!k8s.resources.limits) return [{ op: 'add', path: `${at}/resources/limits`, value: limits }];
  return Object.entries(limits).map(([key, value]) => ({
    op: 'add',
    path: `${at}/resources/limits/${key}`,
    value,
  }));
}

function escalationOps(at: string, k8s: K8sContainer): PatchOp[] {
  const sc = k8s.securityContext;
  if (sc?.allowPrivilegeEscalation !== undefined || sc?.privileged) return [];
  const adds = (sc?.capabilities?.add ?? []).map((a) => a.toUpperCase().replace(/^CAP_/, ''));
  if (adds.includes('SYS_ADMIN') || adds.includes('ALL')) return [];
  return sc
    ? [{ op: 'add', path: `${at}/securityContext/allowPrivilegeEscalation`, value: false }]
    : [{ op: 'add', path: `${at}/securityContext`, value: { allowPrivilegeEscalation: false } }];
}
