import { z } from 'zod';

/**
 * The parts of a Pod (core/v1) that a docker run has an equivalent for. Loose objects: a
 * reviewed object carries many fields Warden does not judge, and they pass untouched.
 */
const stringMap = z.record(z.string(), z.string());
const quantity = z.union([z.string(), z.number()]);

const securityContext = z.looseObject({
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  runAsUser: z.number().int().optional(),
  runAsGroup: z.number().int().optional(),
  runAsNonRoot: z.boolean().optional(),
  capabilities: z
    .looseObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() })
    .optional(),
  seccompProfile: z.looseObject({ type: z.string(), localhostProfile: z.string().optional() }).optional(),
});
export type SecurityContext = z.infer<typeof securityContext>;

const container = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: z.array(z.looseObject({ name: z.string(), value: z.string().optional() })).optional(),
  ports: z
    .array(
      z.looseObject({
        containerPort: z.number().int(),
        hostPort: z.number().int().optional(),
        hostIP: z.string().optional(),
        protocol: z.string().optional(),
      }),
    )
    .optional(),
  resources: z
    .looseObject({
      limits: z.record(z.string(), quantity).optional(),
      requests: z.record(z.string(), quantity).optional(),
    })
    .optional(),
  volumeMounts: z
    .array(
      z.looseObject({
        name: z.string(),
        mountPath: z.string(),
        readOnly: z.boolean().optional(),
        subPath: z.string().optional(),
      }),
    )
    .optional(),
  securityContext: securityContext.optional(),
});
export type K8sContainer = z.infer<typeof container>;

const volume = z.looseObject({
  name: z.string(),
  hostPath: z.looseObject({ path: z.string(), type: z.string().optional() }).optional(),
  emptyDir: z.looseObject({ medium: z.string().optional(), sizeLimit: quantity.optional() }).optional(),
});

export const podSpecSchema = z.looseObject({
  containers: z.array(container).default([]),
  initContainers: z.array(container).optional(),
  ephemeralContainers: z.array(container).optional(),
  volumes: z.array(volume).optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  serviceAccountName: z.string().optional(),
  serviceAccount: z.string().optional(),
  securityContext: securityContext.optional(),
});
export type PodSpec = z.infer<typeof podSpecSchema>;

const metadata = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  labels: stringMap.optional(),
});
export type ObjectMeta = z.infer<typeof metadata>;

/** Where each kind keeps its pod template, as JSON pointers (the mutating patch's paths). */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};
export const REVIEWED_KINDS = Object.keys(TEMPLATE_PATHS);

// Built once: zod compiles a schema on its first parse, which per review would cost more
// than the review itself.
const objectSchema = z.looseObject({ metadata: metadata.optional() });
const podSchema = z.looseObject({ metadata: metadata.optional(), spec: podSpecSchema });

export interface PodTemplate {
  /** The object's own metadata (its name and uid), not the template's. */
  object: ObjectMeta;
  /** The pod's labels: the template's for a workload. */
  labels: Record<string, string>;
  spec: PodSpec;
  /** JSON pointer of the pod spec inside the object: `/spec`, `/spec/template/spec`… */
  specPointer: string;
}

export type PodTemplateResult = { ok: true; template: PodTemplate } | { ok: false; problem: string };

/**
 * The pod (or pod template) of a reviewed object of one of REVIEWED_KINDS. A kind Warden does
 * not review answers undefined.
 */
export function podTemplateOf(kind: string, object: unknown): PodTemplateResult | undefined {
  const path = TEMPLATE_PATHS[kind];
  if (!path) return undefined;
  const obj = objectSchema.safeParse(object);
  if (!obj.success) return { ok: false, problem: `object: a ${kind} must be a JSON object` };
  let node: unknown = object;
  for (const key of path) {
    node = (node as Record<string, unknown> | undefined)?.[key];
    if (typeof node !== 'object' || node === null)
      return { ok: false, problem: `object.${path.join('.')}: a ${kind} has a pod template here` };
  }
  const pod = podSchema.safeParse(node);
  if (!pod.success) {
    const where = [...path, ...pod.error.issues[0].path.map(String)].join('.');
    return { ok: false, problem: `object.${where}: ${pod.error.issues[0].message}` };
  }
  return {
    ok: true,
    template: {
      object: obj.data.metadata ?? {},
      labels: pod.data.metadata?.labels ?? {},
      spec: pod.data.spec,
      specPointer: '/' + [...path, 'spec'].join('/'),
    },
  };
}
