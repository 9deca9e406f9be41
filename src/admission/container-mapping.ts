import { toContainerSpec, type AdmissionContainer, type Reason } from '../policy';
import { parseQuantity } from './quantity';
import type { K8sContainer, PodTemplate, SecurityContext } from './pod-template';

/**
 * A pod's containers as the launch requests a `docker run` of each would be (issue 18), so
 * the same toContainerSpec validates them and the same checks judge them:
 *
 * | Kubernetes                                   | docker run                      |
 * | -------------------------------------------- | ------------------------------- |
 * | image, command, args, env (values), workingDir | image, --entrypoint, CMD, -e, -w |
 * | the pod's labels                             | --label                         |
 * | securityContext.privileged                   | --privileged                    |
 * | capabilities.add / drop                      | --cap-add / --cap-drop          |
 * | runAsUser[:runAsGroup]                       | --user                          |
 * | readOnlyRootFilesystem                       | --read-only                     |
 * | seccompProfile Unconfined (Localhost)        | --security-opt seccomp=unconfined |
 * | allowPrivilegeEscalation                     | no-new-privileges (always on)   |
 * | limits cpu / memory / ephemeral-storage      | --cpus / --memory / --storage-opt size |
 * | hostNetwork / hostPID / hostIPC              | --network host / --pid host / --ipc host |
 * | ports[].hostPort                             | -p hostIP:hostPort:containerPort/proto |
 * | hostPath volumes (volumeMounts)              | -v /host:/target[:ro]           |
 * | emptyDir medium Memory                       | --tmpfs target:size=sizeLimit   |
 *
 * The pod's own securityContext applies where the container's leaves a field out, as the
 * kubelet does. An absent seccompProfile is judged as the runtime's default profile, as Pod
 * Security's baseline level does (the mutating webhook writes RuntimeDefault in).
 */
export interface MappedPod {
  containers: AdmissionContainer[];
  /** What cannot become a docker run (a size that is none, allowPrivilegeEscalation: true…). */
  problems: Reason[];
  /** Judged, but with a caveat the API server shows the user (a Localhost seccomp profile). */
  warnings: string[];
}

// The launch request's fields as the Kubernetes user wrote them, for messages.
const FIELD_NAMES: Record<string, string> = {
  image: 'image',
  cmd: 'args',
  entrypoint: 'command',
  env: 'env',
  workingDir: 'workingDir',
  user: 'securityContext.runAsUser',
  memory: 'resources.limits.memory',
  cpus: 'resources.limits.cpu',
  storageSize: 'resources.limits.ephemeral-storage',
  capAdd: 'securityContext.capabilities.add',
  capDrop: 'securityContext.capabilities.drop',
  publish: 'ports',
  binds: 'volumeMounts (hostPath)',
  tmpfs: 'volumeMounts (emptyDir medium Memory)',
  mounts: 'volumeMounts',
  labels: 'metadata.labels',
};

type ContainerType = AdmissionContainer['type'];

export function mapPod(pod: PodTemplate): MappedPod {
  const out: MappedPod = { containers: [], problems: [], warnings: [] };
  const lists: Array<[ContainerType, K8sContainer[] | undefined]> = [
    ['initContainer', pod.spec.initContainers],
    ['container', pod.spec.containers],
    ['ephemeralContainer', pod.spec.ephemeralContainers],
  ];
  for (const [type, list] of lists)
    for (const c of list ?? []) {
      const who = `${type === 'container' ? 'container' : type} "${c.name}"`;
      const problem = (field: string, message: string) =>
        out.problems.push({
          rule: 'admission.mapping',
          message: `${who}: ${field}: ${message}`,
          detail: { container: c.name, field },
        });
      const request = launchRequestOf(pod, c, problem, (w) => out.warnings.push(`${who}: ${w}`));
      if (request === undefined) continue;
      const spec = toContainerSpec(request);
      if (!spec.ok) {
        for (const e of spec.errors) {
          const m = /^(\w+)((?:\[\d+\])?(?:\.\w+)*): ?(.*)$/s.exec(e);
          if (m) problem(`${FIELD_NAMES[m[1]] ?? m[1]}${m[2]}`, m[3]);
          else problem('spec', e);
        }
        continue;
      }
      out.containers.push({ name: c.name, type, spec: spec.spec });
    }
  return out;
}

function merged(pod: PodTemplate, c: K8sContainer): SecurityContext {
  const p = pod.spec.securityContext ?? {};
  const s = c.securityContext ?? {};
  return {
    ...s,
    runAsUser: s.runAsUser ?? p.runAsUser,
    runAsGroup: s.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: s.runAsNonRoot ?? p.runAsNonRoot,
    seccompProfile: s.seccompProfile ?? p.seccompProfile,
  };
}

function launchRequestOf(
  pod: PodTemplate,
  c: K8sContainer,
  problem: (field: string, message: string) => void,
  warn: (message: string) => void,
): Record<string, unknown> | undefined {
  if (!c.image) {
    problem('image', 'is required');
    return undefined;
  }
  const sc = merged(pod, c);
  const req: Record<string, unknown> = {
    image: c.image,
    labels: pod.labels,
    network: pod.spec.hostNetwork ? 'host' : 'bridge',
  };
  if (c.command) req.entrypoint = c.command;
  if (c.args) req.cmd = c.args;
  if (c.workingDir) req.workingDir = c.workingDir;
  // Values from secrets and config maps (valueFrom) are the cluster's to resolve.
  const env = (c.env ?? []).filter((e) => e.value !== undefined).map((e) => `${e.name}=${e.value}`);
  if (env.length) req.env = env;
  if (pod.spec.hostPID) req.pid = 'host';
  if (pod.spec.hostIPC) req.ipc = 'host';

  if (sc.privileged) req.privileged = true;
  if (sc.capabilities?.add?.length) req.capAdd = sc.capabilities.add;
  if (sc.capabilities?.drop?.length) req.capDrop = sc.capabilities.drop;
  if (sc.readOnlyRootFilesystem) req.readOnly = true;
  if (sc.runAsUser !== undefined)
    req.user = sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : String(sc.runAsUser);
  if (sc.runAsNonRoot && sc.runAsUser === 0)
    problem('securityContext.runAsNonRoot', 'is true but runAsUser is 0 (root); the kubelet would refuse it');
  // Warden sets no_new_privs on every process and refuses `no-new-privileges=false` for docker
  // run; the pod's explicit ask for the opposite is refused the same way.
  if (sc.allowPrivilegeEscalation === true && !sc.privileged)
    problem(
      'securityContext.allowPrivilegeEscalation',
      'true is not supported: Warden always sets no_new_privs (as docker run --security-opt no-new-privileges); set it to false or leave it out',
    );
  const seccomp = sc.seccompProfile?.type;
  if (seccomp === 'Unconfined') req.seccomp = 'unconfined';
  else if (seccomp === 'Localhost') {
    // The profile is a file on the node, which Warden cannot read: judged as leaving the default.
    req.seccomp = 'unconfined';
    warn(
      `seccompProfile Localhost (${sc.seccompProfile?.localhostProfile ?? '?'}) is judged as unconfined: Warden cannot read a node's profile file`,
    );
  } else if (seccomp !== undefined && seccomp !== 'RuntimeDefault')
    problem(
      'securityContext.seccompProfile.type',
      `${JSON.stringify(seccomp)} is not Unconfined, RuntimeDefault or Localhost`,
    );

  limits(c, req, problem);
  ports(pod, c, req);
  mounts(pod, c, req, problem);
  return req;
}

function limits(
  c: K8sContainer,
  req: Record<string, unknown>,
  problem: (f: string, m: string) => void,
): void {
  const lim = c.resources?.limits ?? {};
  for (const [key, field, whole] of [
    ['memory', 'memory', true],
    ['cpu', 'cpus', false],
    ['ephemeral-storage', 'storageSize', true],
  ] as const) {
    const raw = lim[key];
    if (raw === undefined) continue;
    const value = parseQuantity(raw);
    if (value === undefined || value < 0)
      problem(
        `resources.limits.${key}`,
        `${JSON.stringify(raw)} is not a quantity such as ${whole ? '512Mi' : '500m'}`,
      );
    else req[field] = whole ? Math.ceil(value) : value;
  }
}

function ports(pod: PodTemplate, c: K8sContainer, req: Record<string, unknown>): void {
  // On the host's network every port is the host's already (hostPort must equal containerPort).
  if (pod.spec.hostNetwork) return;
  const published = (c.ports ?? [])
    .filter((p) => p.hostPort !== undefined && p.hostPort !== 0)
    .map((p) => ({
      containerPort: p.containerPort,
      hostPort: p.hostPort,
      ...(p.hostIP ? { hostIp: p.hostIP } : {}),
      protocol: (p.protocol ?? 'TCP').toLowerCase(),
    }));
  if (published.length) req.publish = published;
}

function mounts(
  pod: PodTemplate,
  c: K8sContainer,
  req: Record<string, unknown>,
  problem: (f: string, m: string) => void,
): void {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const binds: Array<{ source: string; target: string; readOnly: boolean }> = [];
  const tmpfs: Array<{ target: string; size?: number }> = [];
  (c.volumeMounts ?? []).forEach((m, i) => {
    const v = volumes.get(m.name);
    if (!v) {
      problem(`volumeMounts[${i}].name`, `no volume named ${JSON.stringify(m.name)} in the pod`);
      return;
    }
    if (v.hostPath) {
      const source = m.subPath ? `${v.hostPath.path.replace(/\/+$/, '')}/${m.subPath}` : v.hostPath.path;
      binds.push({ source, target: m.mountPath, readOnly: m.readOnly ?? false });
    } else if (v.emptyDir?.medium === 'Memory') {
      const size = v.emptyDir.sizeLimit === undefined ? undefined : parseQuantity(v.emptyDir.sizeLimit);
      tmpfs.push(
        size === undefined ? { target: m.mountPath } : { target: m.mountPath, size: Math.ceil(size) },
      );
    }
    // Other volumes (configMap, secret, PVCs, disk-backed emptyDir) are the cluster's storage,
    // with no host path: nothing a docker run policy judges.
  });
  if (binds.length) req.binds = binds;
  if (tmpfs.length) req.tmpfs = tmpfs;
}
